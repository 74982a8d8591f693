use leptos::nonce::use_nonce;
use leptos::prelude::*;

/// Where the chosen theme is remembered (localStorage): "light" or "dark"; absent: the system's.
const THEME_SETTING: &str = "evalgrid.theme";

/// Runs in the `<head>` before anything is painted: puts the remembered theme on `<html>`, so a
/// dark page never flashes light (or the reverse). Inline, since a script file would be fetched
/// after the first paint; allowed by the page's CSP through its nonce. localStorage throws when
/// storage is blocked, hence the try.
const APPLY_THEME: &str = "try{var t=localStorage.getItem('evalgrid.theme');\
if(t==='light'||t==='dark')document.documentElement.dataset.theme=t}catch(e){}";

/// The theme the page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Theme {
    /// The system's light or dark (`prefers-color-scheme`).
    System,
    Light,
    Dark,
}

impl Theme {
    /// The value of `data-theme` on `<html>` and in localStorage; none for the system's.
    pub fn name(self) -> Option<&'static str> {
        match self {
            Theme::System => None,
            Theme::Light => Some("light"),
            Theme::Dark => Some("dark"),
        }
    }

    fn from_name(name: Option<&str>) -> Self {
        match name {
            Some("light") => Theme::Light,
            Some("dark") => Theme::Dark,
            _ => Theme::System,
        }
    }

    /// The theme an embed's address forces, `?theme=light` or `?theme=dark` in `query` (as
    /// `location.search` gives it); anything else forces none (the remembered or the system's).
    pub fn forced_by(query: &str) -> Option<Self> {
        let name = crate::page_address::query_param(query, "theme");
        Some(Theme::from_name(name.as_deref())).filter(|theme| *theme != Theme::System)
    }
}

/// The inline script that applies the remembered theme; goes first in the `<head>`.
#[component]
pub fn ThemeScript() -> impl IntoView {
    view! { <script nonce=use_nonce() inner_html=APPLY_THEME></script> }
}

/// "Auto / Light / Dark" in the top bar: applies the choice at once and remembers it.
#[component]
pub fn ThemeSwitch() -> impl IntoView {
    // The server cannot know the stored choice: it renders "Auto" pressed, and the browser
    // corrects that after hydration (the colours themselves are right from the first paint).
    let theme = RwSignal::new(Theme::System);
    Effect::new(move |_| theme.set(applied_theme()));
    let choose = move |chosen: Theme| {
        theme.set(chosen);
        apply_theme(chosen);
    };
    let option = move |label: &'static str, title: &'static str, value: Theme| {
        view! {
            <button
                type="button"
                title=title
                aria-pressed=move || (theme.get() == value).to_string()
                on:click=move |_| choose(value)
            >
                {label}
            </button>
        }
    };
    view! {
        <div class="theme-switch" role="group" aria-label="Theme">
            {option("Auto", "Follow the system's light or dark setting", Theme::System)}
            {option("Light", "Light theme", Theme::Light)}
            {option("Dark", "Dark theme", Theme::Dark)}
        </div>
    }
}

/// The theme on `<html>` now (the inline script's doing, or an earlier choice).
fn applied_theme() -> Theme {
    Theme::from_name(
        document()
            .document_element()
            .and_then(|html| html.get_attribute("data-theme"))
            .as_deref(),
    )
}

/// Puts the theme on `<html>` and remembers it.
fn apply_theme(theme: Theme) {
    if let Some(html) = document().document_element() {
        let _ = match theme.name() {
            Some(name) => html.set_attribute("data-theme", name),
            None => html.remove_attribute("data-theme"),
        };
    }
    if let Some(storage) = window().local_storage().ok().flatten() {
        let _ = match theme.name() {
            Some(name) => storage.set_item(THEME_SETTING, name),
            None => storage.remove_item(THEME_SETTING),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::Theme;

    #[test]
    fn only_light_and_dark_are_forced() {
        assert_eq!(Theme::forced_by("?theme=dark"), Some(Theme::Dark));
        assert_eq!(Theme::forced_by("?x=1&theme=light"), Some(Theme::Light));
        assert_eq!(Theme::forced_by("?theme=auto"), None);
        assert_eq!(Theme::forced_by("?theme=Dark"), None);
        assert_eq!(Theme::forced_by("?theme=%22%3E"), None);
        assert_eq!(Theme::forced_by(""), None);
    }
}
