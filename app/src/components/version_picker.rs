use crate::model::ImageInfo;
use crate::page_address::{version_key, AddressKeys};
use crate::php_branches::{self, Support};
use crate::version_constraint::{constraint_text, VersionConstraint};
use leptos::either::Either;
use leptos::prelude::*;
use std::collections::HashSet;

/// Which versions are ticked: the page's default, until the user (or the address) picks.
#[derive(Debug, Clone, Copy)]
pub struct VersionSelection {
    /// The images ticked by default: on a permalink those it was run on; empty: every one.
    defaults: RwSignal<HashSet<String>>,
    /// The versions picked, by address key, in version order; `None`: the defaults. What the
    /// address's `v` holds.
    pub picked: RwSignal<Option<Vec<String>>>,
    /// The address keys of the images on offer.
    keys: Signal<AddressKeys>,
}

impl VersionSelection {
    pub fn new(defaults: HashSet<String>, picked: Option<Vec<String>>, keys: Signal<AddressKeys>) -> Self {
        Self {
            defaults: RwSignal::new(defaults),
            picked: RwSignal::new(picked),
            keys,
        }
    }

    /// Whether `image` is ticked; tracked.
    pub fn is_ticked(&self, image: &str) -> bool {
        self.picked.with(|picked| match picked {
            Some(picked) => self
                .keys
                .with(|keys| picked.iter().any(|key| keys.names(key, image))),
            None => self.defaults.with(|d| d.is_empty() || d.contains(image)),
        })
    }

    /// The images of `images` that are ticked, in their order; tracked.
    pub fn ticked_of(&self, images: Vec<ImageInfo>) -> Vec<ImageInfo> {
        images
            .into_iter()
            .filter(|info| self.is_ticked(&info.image))
            .collect()
    }

    /// Ticks exactly the images of `images` that `keep` says.
    fn pick(&self, images: &[ImageInfo], keep: impl Fn(&ImageInfo) -> bool) {
        let keys = self.keys.get_untracked();
        let keys = images
            .iter()
            .filter(|i| keep(i))
            .map(|i| keys.key(&i.image))
            .collect();
        self.picked.set(Some(keys));
    }

    /// Ticks (`on`) or unticks the images named, and leaves the others as they are.
    fn set(&self, images: &[ImageInfo], names: &[String], on: bool) {
        self.pick(images, |i| match names.contains(&i.image) {
            true => on,
            false => self.is_ticked_untracked(&i.image),
        });
    }

    fn is_ticked_untracked(&self, image: &str) -> bool {
        untrack(|| self.is_ticked(image))
    }

    /// After a saved run: the versions it ran become the default, as on its permalink.
    pub fn settle(&self, ran: &[ImageInfo]) {
        self.defaults.set(ran.iter().map(|i| i.image.clone()).collect());
        self.picked.set(None);
    }
}

/// The picker: the versions grouped by release branch (each with a checkbox for the whole
/// branch and its support state), presets, and shift-click ranges. Real checkboxes and buttons,
/// so it works with the keyboard as any form does. The list can change while the page is open
/// (new images appear): groups and entries are keyed, so what did not change stays put, focus
/// included.
#[component]
pub fn VersionPicker(images: Signal<Vec<ImageInfo>>, ticked: VersionSelection) -> impl IntoView {
    let today = php_branches::today();
    let groups = Memo::new(move |_| images.with(|all| minor_groups(all, &today)));
    // The entry clicked last: a shift-click ticks or unticks everything from it to the next.
    let anchor = StoredValue::new(None::<String>);
    let picker = Picker {
        images,
        ticked,
        anchor,
    };
    let preset =
        move |label: &'static str, title: &'static str, choose: fn(&[ImageInfo], &str) -> Vec<String>| {
            let choose = move |_| {
                images.with_untracked(|all| {
                    let chosen = choose(all, &php_branches::today());
                    ticked.pick(all, |i| chosen.contains(&i.image));
                })
            };
            view! { <button type="button" class="link" title=title on:click=choose>{label}</button> }
        };
    let count = move || {
        images.with(|all| {
            let on = all.iter().filter(|i| ticked.is_ticked(&i.image)).count();
            format!("{on} of {} ticked", all.len())
        })
    };
    view! {
        <fieldset class="version-picker">
            <legend>"PHP versions"</legend>
            <div class="picker-actions" role="group" aria-label="Tick">
                {preset("latest of each minor", "The newest version of each branch (8.4, 8.3, …)", latest_of_each_minor)}
                {preset("supported", "Every version of the branches that still get security fixes", supported)}
                {preset("all", "Every version", |all, _| all.iter().map(|i| i.image.clone()).collect())}
                {preset("none", "No version", |_, _| Vec::new())}
            </div>
            <ConstraintField images ticked/>
            <div class="version-groups">
                <For
                    each=move || groups.get()
                    key=|group| group.clone()
                    children=move |group| view! { <MinorGroupView group picker/> }
                />
            </div>
            <p class="picker-count">{count}" · shift-click ticks a range"</p>
        </fieldset>
    }
}

/// A Composer constraint (`^7.4 || ^8.1`), or a pasted `composer.json` (its `require.php`),
/// that ticks exactly the versions satisfying it as Composer reads it, as it is typed; what it
/// cannot read is said beside it and ticks nothing.
#[component]
fn ConstraintField(images: Signal<Vec<ImageInfo>>, ticked: VersionSelection) -> impl IntoView {
    let verdict = RwSignal::new(None::<Result<String, String>>);
    let apply = move |text: String| {
        if text.trim().is_empty() {
            return verdict.set(None);
        }
        let constraint = constraint_text(&text).and_then(|text| VersionConstraint::parse(&text));
        verdict.set(Some(constraint.map(|constraint| {
            images.with_untracked(|all| {
                let satisfied: HashSet<&str> = all
                    .iter()
                    .filter(|i| constraint.allows(&i.php_version))
                    .map(|i| i.image.as_str())
                    .collect();
                ticked.pick(all, |i| satisfied.contains(i.image.as_str()));
                format!("{} of {} versions satisfy it", satisfied.len(), all.len())
            })
        })));
    };
    view! {
        <label class="picker-constraint">
            <span>"Composer constraint"</span>
            <input
                type="text"
                name="constraint"
                placeholder="^7.4 || ^8.1, or a composer.json"
                autocomplete="off"
                spellcheck="false"
                title="Ticks the versions that satisfy it, with Composer's rules (^, ~, ranges, ||, wildcards, @stability)"
                aria-describedby="constraint-verdict"
                on:input=move |event| apply(event_target_value(&event))
            />
        </label>
        <p
            id="constraint-verdict"
            class="picker-constraint-verdict"
            class:refused=move || matches!(verdict.get(), Some(Err(_)))
            role="status"
        >
            {move || verdict.get().map(|verdict| verdict.unwrap_or_else(|why| why))}
        </p>
    }
}

/// What every checkbox of the picker works on: the list, what is ticked, and the last one
/// clicked (where a shift-click's range starts).
#[derive(Clone, Copy)]
struct Picker {
    images: Signal<Vec<ImageInfo>>,
    ticked: VersionSelection,
    anchor: StoredValue<Option<String>>,
}

/// One branch: a checkbox for all of it, its support state, and a checkbox per version.
#[component]
fn MinorGroupView(group: MinorGroup, picker: Picker) -> impl IntoView {
    let Picker { images, ticked, .. } = picker;
    let names: Vec<String> = group.entries.iter().map(|e| e.image.clone()).collect();
    let names = StoredValue::new(names);
    let count_ticked = move || names.with_value(|n| n.iter().filter(|n| ticked.is_ticked(n)).count());
    let all_ticked = move || count_ticked() == names.with_value(Vec::len);
    let some_ticked = move || !all_ticked() && count_ticked() > 0;
    let toggle_branch = move |_| {
        let on = !untrack(all_ticked);
        images.with_untracked(|all| names.with_value(|n| ticked.set(all, n, on)));
    };
    let end_of_life = group.support.is_some_and(Support::is_end_of_life);
    let support_title = group.support.map(Support::describe);
    let support_mark = match group.support {
        Some(Support::EndOfLife { .. }) => Some(Either::Left(view! {
            <span class="support-mark eol" title=support_title.clone()>"end of life"</span>
        })),
        Some(Support::Supported { until: Some(day) }) => Some(Either::Right(view! {
            <span class="support-mark" title=support_title.clone()>"until " {day[..7].to_owned()}</span>
        })),
        _ => None,
    };
    let entries = group
        .entries
        .into_iter()
        .map(|entry| view! { <VersionCheckbox entry picker/> })
        .collect_view();
    let branch = group.branch.clone();
    view! {
        <div class="minor-group" class:end-of-life=end_of_life role="group" aria-label=format!("PHP {branch}")>
            <div class="minor-head">
                <label class="minor-toggle">
                    <input
                        type="checkbox"
                        checked=all_ticked
                        prop:checked=all_ticked
                        prop:indeterminate=some_ticked
                        on:change=toggle_branch
                    />
                    {group.branch}
                    <span class="visually-hidden">" — every version"</span>
                </label>
                {support_mark}
            </div>
            <div class="versions">{entries}</div>
        </div>
    }
}

/// One version's checkbox; a shift-click ticks or unticks the range from the last one clicked.
#[component]
fn VersionCheckbox(entry: PickerEntry, picker: Picker) -> impl IntoView {
    let Picker {
        images,
        ticked,
        anchor,
    } = picker;
    let name = entry.image.clone();
    let checked = {
        let name = name.clone();
        move || ticked.is_ticked(&name)
    };
    let click = move |event: leptos::ev::MouseEvent| {
        let on = event_target_checked(&event);
        images.with_untracked(|all| {
            let names = match anchor.get_value() {
                Some(from) if event.shift_key() => range(all, &from, &name),
                _ => vec![name.clone()],
            };
            ticked.set(all, &names, on);
        });
        anchor.set_value(Some(name.clone()));
    };
    view! {
        <label class="version" title=entry.title>
            // The attribute for the server's HTML, the property once it is live.
            <input
                type="checkbox"
                value=entry.image
                checked=checked.clone()
                prop:checked=checked
                on:click=click
            />
            <span class="version-number">{entry.version}</span>
            {(!entry.detail.is_empty()).then(|| view! { <span class="version-detail">{entry.detail}</span> })}
        </label>
    }
}

/// The picker's view of one release branch.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MinorGroup {
    /// `8.4`; `other` for images whose version names no branch.
    pub branch: String,
    /// `None` for `other`.
    pub support: Option<Support>,
    pub entries: Vec<PickerEntry>,
}

/// One version in the picker.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PickerEntry {
    pub image: String,
    /// The exact PHP version, e.g. `8.4.27`.
    pub version: String,
    /// What tells it apart from the entries of the same version: what it is built on, and its
    /// name when that is not enough.
    pub detail: String,
    pub title: String,
}

/// The images by release branch, in the list's order (oldest first).
pub fn minor_groups(images: &[ImageInfo], today: &str) -> Vec<MinorGroup> {
    let mut groups: Vec<MinorGroup> = Vec::new();
    for (info, detail) in images.iter().zip(details(images)) {
        let branch = php_branches::branch_of(&info.php_version);
        let name = branch.clone().unwrap_or_else(|| "other".to_owned());
        let entry = PickerEntry {
            image: info.image.clone(),
            version: info.php_version.clone(),
            detail,
            title: image_title(info),
        };
        match groups.iter_mut().find(|g| g.branch == name) {
            Some(group) => group.entries.push(entry),
            None => groups.push(MinorGroup {
                branch: name,
                support: branch.map(|b| php_branches::support(&b, today)),
                entries: vec![entry],
            }),
        }
    }
    groups
}

/// Per image, what sets it apart from the others of the same PHP version: its name (short:
/// the address's key, without a registry or owner) when another shares version and variant,
/// then its variant (`alpine 3.21`). The name comes first, as it is what differs.
fn details(images: &[ImageInfo]) -> Vec<String> {
    let alike = |a: &ImageInfo, b: &ImageInfo, with_variant: bool| {
        a.php_version == b.php_version && (!with_variant || a.variant == b.variant)
    };
    images
        .iter()
        .map(|info| {
            let shares = |with_variant| {
                images
                    .iter()
                    .filter(|other| alike(info, other, with_variant))
                    .count()
                    > 1
            };
            let mut parts = Vec::new();
            if shares(true) {
                let short = short_name(&info.image);
                // Two names can shorten alike (`php:8.2` and `php:8.2-cli` are both `8.2`):
                // then the tag itself, which is what differs.
                let clashes = images.iter().any(|other| {
                    other.image != info.image && alike(info, other, true) && short_name(&other.image) == short
                });
                parts.push(match clashes {
                    true => info.image.rsplit('/').next().unwrap_or(&info.image).to_owned(),
                    false => short,
                });
            }
            if shares(false) && !info.variant.is_empty() {
                parts.push(info.variant.clone());
            }
            parts.join(" · ")
        })
        .collect()
}

/// An image's address key without a registry or owner: `8.4`, `php:8.4-copy`.
fn short_name(image: &str) -> String {
    let key = version_key(image);
    key.rsplit('/').next().unwrap_or(&key).to_owned()
}

/// The newest version of each branch; of several images of that version, the one with the
/// shortest name (`8.4` before `8.4-alpine` and before other repositories' images).
pub fn latest_of_each_minor(images: &[ImageInfo], _today: &str) -> Vec<String> {
    let mut chosen: Vec<(Option<String>, &ImageInfo)> = Vec::new();
    // The list is oldest first: a later entry of a branch is at least as new.
    for info in images {
        let branch = php_branches::branch_of(&info.php_version);
        let shorter = |than: &ImageInfo| version_key(&info.image).len() < version_key(&than.image).len();
        match chosen.iter_mut().find(|(b, _)| *b == branch) {
            Some((_, best)) if best.php_version != info.php_version || shorter(best) => *best = info,
            Some(_) => {}
            None => chosen.push((branch, info)),
        }
    }
    chosen.into_iter().map(|(_, info)| info.image.clone()).collect()
}

/// Every image of a branch that still gets security fixes on `today`.
pub fn supported(images: &[ImageInfo], today: &str) -> Vec<String> {
    images
        .iter()
        .filter(|info| {
            php_branches::branch_of(&info.php_version)
                .is_some_and(|branch| !php_branches::support(&branch, today).is_end_of_life())
        })
        .map(|info| info.image.clone())
        .collect()
}

/// The images from `from` to `to` (either way round), both included, in the list's order.
pub fn range(images: &[ImageInfo], from: &str, to: &str) -> Vec<String> {
    let position = |name: &str| images.iter().position(|i| i.image == name);
    match (position(from), position(to)) {
        (Some(a), Some(b)) => images[a.min(b)..=a.max(b)]
            .iter()
            .map(|i| i.image.clone())
            .collect(),
        _ => vec![to.to_owned()],
    }
}

/// The image's name, what it is built on and its extensions, for the tooltip.
fn image_title(info: &ImageInfo) -> String {
    let mut title = info.image.clone();
    if !info.variant.is_empty() {
        title.push_str(&format!(" · {}", info.variant));
    }
    if !info.extensions.is_empty() {
        title.push_str(&format!(
            "\n{} extensions: {}",
            info.extensions.len(),
            info.extensions.join(", ")
        ));
    }
    title
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(name: &str, version: &str, variant: &str) -> ImageInfo {
        ImageInfo {
            image: name.into(),
            php_version: version.into(),
            variant: variant.into(),
            extensions: Vec::new(),
        }
    }

    /// Oldest first, as `GET /api/images` lists them.
    fn images() -> Vec<ImageInfo> {
        vec![
            image("php:7.4-cli", "7.4.33", "debian 11"),
            image("php:8.2-cli", "8.2.32", "debian 12"),
            image("php:8.4.5-cli-alpine", "8.4.5", "alpine 3.21"),
            image("php:8.4-cli", "8.4.27", "debian 13"),
            image("php:8.4-cli-alpine", "8.4.27", "alpine 3.22"),
            image("test/php:8.4-copy", "8.4.27", "debian 13"),
            image("php:8.5-cli", "8.5.7", "debian 13"),
        ]
    }

    #[test]
    fn versions_are_grouped_by_branch_with_its_support_state() {
        let groups = minor_groups(&images(), "2026-11-27");
        let summary: Vec<(&str, bool, usize)> = groups
            .iter()
            .map(|g| {
                (
                    g.branch.as_str(),
                    g.support.unwrap().is_end_of_life(),
                    g.entries.len(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("7.4", true, 1),
                ("8.2", false, 1),
                ("8.4", false, 4),
                ("8.5", false, 1)
            ]
        );
    }

    #[test]
    fn entries_of_one_version_say_what_sets_them_apart() {
        let groups = minor_groups(&images(), "2026-11-27");
        let details: Vec<&str> = groups[2].entries.iter().map(|e| e.detail.as_str()).collect();
        assert_eq!(
            details,
            ["", "8.4 · debian 13", "alpine 3.22", "php:8.4-copy · debian 13"]
        );
        assert_eq!(groups[0].entries[0].detail, "");
    }

    /// Docker Hub's `php:8.2` and a `php:8.2-cli` of the same version and base are both `8.2`
    /// in the address: their tags tell them apart.
    #[test]
    fn images_whose_short_names_clash_are_told_apart_by_their_tags() {
        let images = [
            image("php:8.2", "8.2.32", "debian 12"),
            image("php:8.2-cli", "8.2.32", "debian 12"),
        ];
        let groups = minor_groups(&images, "2026-11-27");
        let details: Vec<&str> = groups[0].entries.iter().map(|e| e.detail.as_str()).collect();
        assert_eq!(details, ["php:8.2 · debian 12", "php:8.2-cli · debian 12"]);
    }

    #[test]
    fn presets_pick_the_newest_of_each_branch_and_the_supported_ones() {
        assert_eq!(
            latest_of_each_minor(&images(), ""),
            ["php:7.4-cli", "php:8.2-cli", "php:8.4-cli", "php:8.5-cli"]
        );
        let supported = supported(&images(), "2026-11-27");
        assert_eq!(supported.len(), 6);
        assert!(!supported.contains(&"php:7.4-cli".to_owned()));
        // A year later 8.2 has ended too.
        assert_eq!(super::supported(&images(), "2027-11-27").len(), 5);
    }

    #[test]
    fn a_range_runs_either_way_and_includes_both_ends() {
        let names = |r: Vec<String>| r.len();
        assert_eq!(names(range(&images(), "php:8.2-cli", "php:8.4-cli")), 3);
        assert_eq!(range(&images(), "php:8.4-cli", "php:8.2-cli")[0], "php:8.2-cli");
        assert_eq!(range(&images(), "gone", "php:8.4-cli"), ["php:8.4-cli"]);
    }
}
