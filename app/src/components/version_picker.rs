use crate::model::ImageInfo;
use leptos::prelude::*;
use std::collections::HashSet;

/// One checkbox per PHP version, plus "all" and "none". `unchecked` holds the images the user
/// turned off, so every version is on by default.
#[component]
pub fn VersionPicker(images: Vec<ImageInfo>, unchecked: RwSignal<HashSet<String>>) -> impl IntoView {
    let all_names: Vec<String> = images.iter().map(|i| i.image.clone()).collect();
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
    let boxes = images
        .into_iter()
        .zip(labels)
        .map(|(info, label)| {
            let title = image_title(&info);
            let name = info.image.clone();
            let checked = {
                let name = name.clone();
                move || !unchecked.with(|off| off.contains(&name))
            };
            let toggle = move |_| {
                unchecked.update(|off| {
                    if !off.remove(&name) {
                        off.insert(name.clone());
                    }
                })
            };
            view! {
                <label class="version" title=title>
                    <input type="checkbox" value=info.image.clone() prop:checked=checked on:change=toggle/>
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
                <button type="button" class="link" on:click=move |_| unchecked.set(HashSet::new())>"all"</button>
                <button type="button" class="link" on:click=move |_| unchecked.set(all_names.iter().cloned().collect())>"none"</button>
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
