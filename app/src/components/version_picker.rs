use crate::model::ImageInfo;
use leptos::prelude::*;
use std::collections::HashSet;

/// One checkbox per PHP version, plus "all" and "none". `unchecked` holds the images the user
/// turned off, so every version is on by default.
#[component]
pub fn VersionPicker(images: Vec<ImageInfo>, unchecked: RwSignal<HashSet<String>>) -> impl IntoView {
    let all_names: Vec<String> = images.iter().map(|i| i.image.clone()).collect();
    let boxes = images
        .into_iter()
        .map(|info| {
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
                <label class="version" title=info.image.clone()>
                    <input type="checkbox" value=info.image.clone() prop:checked=checked on:change=toggle/>
                    <span>{info.php_version}</span>
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
