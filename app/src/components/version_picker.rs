use crate::model::ImageInfo;
use crate::page_address::version_key;
use leptos::prelude::*;
use std::collections::HashSet;

/// Which versions are ticked: the page's default, until the user (or the address) picks.
#[derive(Debug, Clone, Copy)]
pub struct VersionSelection {
    /// The images ticked by default: on a permalink those it was run on; empty: every one.
    defaults: RwSignal<HashSet<String>>,
    /// The versions picked, by version key, in version order; `None`: the defaults. What the
    /// address's `v` holds.
    pub picked: RwSignal<Option<Vec<String>>>,
}

impl VersionSelection {
    pub fn new(defaults: HashSet<String>, picked: Option<Vec<String>>) -> Self {
        Self {
            defaults: RwSignal::new(defaults),
            picked: RwSignal::new(picked),
        }
    }

    /// Whether `image` is ticked; tracked.
    pub fn is_ticked(&self, image: &str) -> bool {
        self.picked.with(|picked| match picked {
            Some(keys) => keys.contains(&version_key(image)),
            None => self.defaults.with(|d| d.is_empty() || d.contains(image)),
        })
    }

    /// Ticks exactly the images of `images` that `keep` says.
    fn pick(&self, images: &[ImageInfo], keep: impl Fn(&ImageInfo) -> bool) {
        let keys = images
            .iter()
            .filter(|i| keep(i))
            .map(|i| version_key(&i.image))
            .collect();
        self.picked.set(Some(keys));
    }

    fn toggle(&self, images: &[ImageInfo], image: &str) {
        self.pick(images, |i| {
            self.is_ticked_untracked(&i.image) != (i.image == image)
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

/// One checkbox per PHP version, plus "all" and "none".
#[component]
pub fn VersionPicker(images: Vec<ImageInfo>, ticked: VersionSelection) -> impl IntoView {
    // Two images of one PHP version (a Debian and an Alpine build) say what sets them apart.
    let shared_version = |version: &str| images.iter().filter(|i| i.php_version == version).count() > 1;
    let labels: Vec<String> = images
        .iter()
        .map(
            |info| match shared_version(&info.php_version) && !info.variant.is_empty() {
                true => format!("{} · {}", info.php_version, info.variant),
                false => info.php_version.clone(),
            },
        )
        .collect();
    let images = StoredValue::new(images);
    let boxes = images
        .get_value()
        .into_iter()
        .zip(labels)
        .map(|(info, label)| {
            let title = image_title(&info);
            let name = info.image.clone();
            let checked = {
                let name = name.clone();
                move || ticked.is_ticked(&name)
            };
            let toggle = move |_| images.with_value(|all| ticked.toggle(all, &name));
            view! {
                <label class="version" title=title>
                    // The attribute for the server's HTML, the property once it is live.
                    <input
                        type="checkbox"
                        value=info.image.clone()
                        checked=checked.clone()
                        prop:checked=checked
                        on:change=toggle
                    />
                    <span>{label}</span>
                </label>
            }
        })
        .collect_view();
    view! {
        <fieldset class="version-picker">
            <legend>"PHP versions"</legend>
            <div class="versions">{boxes}</div>
            <div class="picker-actions">
                <button type="button" class="link" on:click=move |_| images.with_value(|all| ticked.pick(all, |_| true))>"all"</button>
                <button type="button" class="link" on:click=move |_| images.with_value(|all| ticked.pick(all, |_| false))>"none"</button>
            </div>
        </fieldset>
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
