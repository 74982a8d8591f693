//! ini variants: the editor of the sets of ini settings a run compares, and the heading that
//! names each one above its results.

use crate::model::{ini_text, IniSettings, MAX_INI_VARIANTS, PRODUCTION_INI};
use leptos::prelude::*;

/// One text box per variant, `name=value` a line; every version runs once under each. A single
/// empty box is a plain run with the images' own settings.
#[component]
pub fn IniVariantsEditor(texts: RwSignal<Vec<String>>) -> impl IntoView {
    let in_use = texts.with_untracked(|texts| texts.len() > 1 || texts.iter().any(|t| !t.trim().is_empty()));
    let several = move || texts.with(Vec::len) > 1;
    let full = move || texts.with(Vec::len) >= MAX_INI_VARIANTS;
    let count = move || {
        let variants = texts.with(Vec::len);
        (variants > 1).then(|| format!(" ({variants} variants)"))
    };
    view! {
        <details class="ini-box" open=in_use>
            <summary>"ini settings" {count}</summary>
            <p class="ini-help">
                "One " <code>"name=value"</code> " a line. Every version runs once under each variant; "
                "an empty variant is evalgrid's baseline, the same on every image: PHP's own defaults "
                "(as without a php.ini), errors shown on stdout."
            </p>
            <div class="ini-variant-inputs">
                <For
                    each=move || 0..texts.with(Vec::len)
                    key=|index| *index
                    children=move |index| view! { <IniVariantInput texts index several/> }
                />
            </div>
            <button
                type="button"
                class="link ini-add"
                disabled=full
                on:click=move |_| texts.update(|texts| texts.push(String::new()))
            >
                "Add a variant"
            </button>
            <button
                type="button"
                class="link ini-add"
                title="The settings of PHP's php.ini-production that change what a script does"
                disabled=full
                on:click=move |_| texts.update(|texts| {
                    let production: String = PRODUCTION_INI
                        .iter()
                        .map(|(name, value)| format!("{name}={value}\n"))
                        .collect();
                    // Into the last box when it is empty, else a variant of its own.
                    let several = texts.len() > 1;
                    match texts.last_mut() {
                        Some(last) if several && last.trim().is_empty() => *last = production,
                        _ => texts.push(production),
                    }
                })
            >
                "Add production settings"
            </button>
        </details>
    }
}

/// The text box of variant `index` (from 0), with its Remove button when there are several.
#[component]
fn IniVariantInput(
    texts: RwSignal<Vec<String>>,
    index: usize,
    several: impl Fn() -> bool + Send + Sync + 'static,
) -> impl IntoView {
    let id = format!("ini-variant-{}", index + 1);
    view! {
        <div class="ini-variant-input">
            <label for=id.clone()>"Variant " {index + 1}</label>
            <textarea
                id=id
                class="ini-text"
                rows="4"
                spellcheck="false"
                placeholder=match index {
                    0 => "opcache.enable_cli=1\nopcache.jit=tracing\nopcache.jit_buffer_size=16M",
                    _ => "Empty: PHP's own defaults",
                }
                prop:value=move || texts.with(|texts| texts.get(index).cloned().unwrap_or_default())
                on:input=move |event| texts.update(|texts| {
                    if let Some(text) = texts.get_mut(index) {
                        *text = event_target_value(&event);
                    }
                })
            ></textarea>
            <Show when=several>
                <button
                    type="button"
                    class="link ini-remove"
                    aria-label=format!("Remove variant {}", index + 1)
                    on:click=move |_| texts.update(|texts| {
                        if index < texts.len() {
                            texts.remove(index);
                        }
                    })
                >
                    "Remove"
                </button>
            </Show>
        </div>
    }
}

/// The results of one ini variant under a heading that names it.
#[component]
pub fn VariantSection<R: IntoView + 'static>(settings: IniSettings, results: R) -> impl IntoView {
    let label = variant_label(&settings);
    view! {
        <section class="ini-variant" aria-label=label>
            <VariantHeading settings/>
            {results}
        </section>
    }
}

/// What a variant's results ran under: its settings, or the images' own.
#[component]
fn VariantHeading(settings: IniSettings) -> impl IntoView {
    view! {
        <h2 class="variant-heading">
            {match settings.is_empty() {
                true => leptos::either::Either::Left("Default ini settings"),
                false => leptos::either::Either::Right(view! {
                    "ini "
                    {settings
                        .into_iter()
                        .map(|(name, value)| view! { <code class="ini-setting">{name} "=" {value}</code> })
                        .collect_view()}
                }),
            }}
        </h2>
    }
}

/// A variant in words, for announcements and labels: "opcache.jit=tracing, precision=17", or
/// "default ini settings".
pub fn variant_label(settings: &IniSettings) -> String {
    match settings.is_empty() {
        true => "default ini settings".to_owned(),
        false => ini_text(settings).trim_end().replace('\n', ", "),
    }
}
