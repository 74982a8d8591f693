//! What the address bar's query says about the page, so that a link, a reload and Back/Forward
//! show the same thing: `?v=7.4,8.4` (the ticked versions), `view=grouped|performance` (the
//! result tab; when absent, the grid for a few versions and the grouped view for many) and `base=7.4` (the version the others are diffed against).
//! Versions are named by their [`version_key`]. Pure code, shared by the server's rendering and
//! the page, so both read an address the same way.

/// The tab the results are shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultView {
    /// One cell per version.
    Grid,
    /// Identical results merged into version ranges.
    Grouped,
    /// Wall time, CPU time and memory compared.
    Performance,
}

/// Past this many versions a run is shown grouped unless the address names a tab: a grid of
/// dozens of cells is a wall to scroll, the groups say at once which versions differ.
pub const MANY_VERSIONS: usize = 8;

impl ResultView {
    /// The tab a run of `versions` versions is shown in when the address names none.
    pub fn default_for(versions: usize) -> Self {
        match versions > MANY_VERSIONS {
            true => ResultView::Grouped,
            false => ResultView::Grid,
        }
    }

    /// Its name in the address.
    fn param(self) -> &'static str {
        match self {
            ResultView::Grid => "grid",
            ResultView::Grouped => "grouped",
            ResultView::Performance => "performance",
        }
    }

    fn from_param(value: Option<&str>) -> Option<Self> {
        match value? {
            "grid" => Some(ResultView::Grid),
            "grouped" => Some(ResultView::Grouped),
            "performance" => Some(ResultView::Performance),
            _ => None,
        }
    }
}

/// Everything the query holds.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PageQuery {
    /// The ticked versions' keys, in version order; `None`: the page's default (every version,
    /// or on a permalink the versions it was run on). `Some(empty)`: none ticked.
    pub versions: Option<Vec<String>>,
    /// The tab; `None`: [`ResultView::default_for`] the run's size.
    pub view: Option<ResultView>,
    /// The key of the version the others are diffed against.
    pub base: Option<String>,
}

/// The short name of an image in the address: the tag of an official `php:` image without
/// `-cli` (`php:8.4-cli` → `8.4`, `php:8.4-cli-alpine` → `8.4-alpine`, `php:8.3-zts` →
/// `8.3-zts`); any other image by its full name.
pub fn version_key(image: &str) -> String {
    match image.strip_prefix("php:") {
        Some(tag) => tag.replacen("-cli", "", 1),
        None => image.to_owned(),
    }
}

/// The address keys of a list of images: each image's [`version_key`], except where two images
/// share one (`php:8.2` and `php:8.2-cli`, different images of one version, are both `8.2`):
/// those go by their full names, so that each key names one image of the list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressKeys {
    /// The short keys more than one image of the list has.
    shared: std::collections::HashSet<String>,
}

impl AddressKeys {
    pub fn of<'a>(images: impl IntoIterator<Item = &'a str>) -> Self {
        let mut seen = std::collections::HashSet::new();
        let shared = images
            .into_iter()
            .map(version_key)
            .filter(|key| !seen.insert(key.clone()))
            .collect();
        Self { shared }
    }

    /// The keys of a run's or the picker's versions.
    pub fn of_versions(versions: &[crate::model::ImageInfo]) -> Self {
        Self::of(versions.iter().map(|info| info.image.as_str()))
    }

    /// Where in `versions` (made the keys) the first version `key` names stands: for `base`,
    /// the version the others are diffed against.
    pub fn first_named(&self, key: &str, versions: &[crate::model::ImageInfo]) -> Option<usize> {
        versions.iter().position(|info| self.names(key, &info.image))
    }

    /// `image`'s key in the address.
    pub fn key(&self, image: &str) -> String {
        let short = version_key(image);
        match self.shared.contains(&short) {
            true => image.to_owned(),
            false => short,
        }
    }

    /// Whether the address key `key` names `image`: its key now, its full name (written while
    /// another image shared its short key), or a short key two images share now (written
    /// while it stood alone, or by a link from before: it names both, as it always did). A
    /// list that changes between writing and reading never unticks what was ticked.
    pub fn names(&self, key: &str, image: &str) -> bool {
        key == image || self.key(image) == key || (self.shared.contains(key) && version_key(image) == key)
    }
}

impl PageQuery {
    /// Reads the query from its parameters (`get` looks one up, already percent-decoded).
    pub fn from_params<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Self {
        let versions = get("v").map(|list| {
            list.split(',')
                .map(str::trim)
                .filter(|key| !key.is_empty())
                .map(str::to_owned)
                .collect()
        });
        Self {
            versions,
            view: ResultView::from_param(get("view")),
            base: get("base").filter(|b| !b.is_empty()).map(str::to_owned),
        }
    }

    /// Reads a query string as `location.search` gives it (`?a=b&c=d`, or empty).
    pub fn parse(search: &str) -> Self {
        let pairs = query_pairs(search);
        Self::from_params(|name| pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str()))
    }

    /// The query string, `?…`, or empty when everything is the default.
    pub fn to_search(&self) -> String {
        let mut params = Vec::new();
        if let Some(versions) = &self.versions {
            let keys: Vec<String> = versions.iter().map(|k| encode(k)).collect();
            params.push(format!("v={}", keys.join(",")));
        }
        if let Some(view) = self.view {
            params.push(format!("view={}", view.param()));
        }
        if let Some(base) = &self.base {
            params.push(format!("base={}", encode(base)));
        }
        match params.is_empty() {
            true => String::new(),
            false => format!("?{}", params.join("&")),
        }
    }
}

/// A query string's parameters (`?a=b&c=d`, or empty), percent-decoded, in order.
fn query_pairs(search: &str) -> Vec<(String, String)> {
    search
        .trim_start_matches('?')
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(name), decode(value))
        })
        .collect()
}

/// The first value of the parameter `name` in a query string, percent-decoded.
pub fn query_param(search: &str, name: &str) -> Option<String> {
    query_pairs(search)
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
}

/// Percent-encodes all but the characters image names use that need no encoding in a query.
fn encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b':' | b'/' | b'@' => {
                encoded.push(byte as char)
            }
            other => encoded.push_str(&format!("%{other:02X}")),
        }
    }
    encoded
}

/// Undoes percent-encoding (and `+` for a space, as forms write it); bad escapes stay as they are.
fn decode(text: &str) -> String {
    let hex = |byte: u8| (byte as char).to_digit(16).map(|d| d as u8);
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = match bytes.get(i..i + 3) {
            Some([b'%', high, low]) => hex(*high).zip(hex(*low)).map(|(h, l)| h * 16 + l),
            _ => None,
        };
        match (escaped, bytes[i]) {
            (Some(byte), _) => {
                decoded.push(byte);
                i += 3;
                continue;
            }
            (None, b'+') => decoded.push(b' '),
            (None, other) => decoded.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_images_with_one_short_key_go_by_their_full_names_and_the_others_keep_theirs() {
        let keys = AddressKeys::of(["php:8.2", "php:8.2-cli", "php:8.4-cli", "php:8.4-cli-alpine"]);
        assert_eq!(keys.key("php:8.2"), "php:8.2");
        assert_eq!(keys.key("php:8.2-cli"), "php:8.2-cli");
        assert_eq!(keys.key("php:8.4-cli"), "8.4");
        assert_eq!(keys.key("php:8.4-cli-alpine"), "8.4-alpine");
        // Alone, each has its short key, as addresses saved before had it.
        assert_eq!(AddressKeys::of(["php:8.2", "php:8.4-cli"]).key("php:8.2"), "8.2");
        assert_eq!(AddressKeys::of(["php:8.2-cli"]).key("php:8.2-cli"), "8.2");
    }

    #[test]
    fn a_key_written_for_another_list_still_names_its_image() {
        let both = AddressKeys::of(["php:8.2", "php:8.2-cli"]);
        let alone = AddressKeys::of(["php:8.2-cli"]);
        // A full name names its image only; a short key two images share names both.
        assert!(both.names("php:8.2-cli", "php:8.2-cli"));
        assert!(!both.names("php:8.2-cli", "php:8.2"));
        assert!(both.names("8.2", "php:8.2-cli") && both.names("8.2", "php:8.2"));
        // Written while both were there, read with one.
        assert!(alone.names("php:8.2-cli", "php:8.2-cli"));
        assert!(alone.names("8.2", "php:8.2-cli"));
        assert!(!alone.names("8.4", "php:8.2-cli"));
        // The base a shared short key names is the first of the versions, in their order.
        let versions = ["php:8.2-cli", "php:8.2"].map(|image| crate::model::ImageInfo {
            image: image.into(),
            ..Default::default()
        });
        let keys = AddressKeys::of_versions(&versions);
        assert_eq!(keys.first_named("8.2", &versions), Some(0));
        assert_eq!(keys.first_named("php:8.2", &versions), Some(1));
        assert_eq!(keys.first_named("8.4", &versions), None);
    }

    #[test]
    fn official_images_get_short_keys_and_others_keep_their_name() {
        assert_eq!(version_key("php:8.4-cli"), "8.4");
        assert_eq!(version_key("php:8.4-cli-alpine"), "8.4-alpine");
        assert_eq!(version_key("php:8.3-zts"), "8.3-zts");
        assert_eq!(version_key("registry.local/php:8.2"), "registry.local/php:8.2");
    }

    #[test]
    fn a_query_reads_back_as_itself() {
        let query = PageQuery {
            versions: Some(vec!["7.4".into(), "8.4-alpine".into(), "my php:1".into()]),
            view: Some(ResultView::Performance),
            base: Some("7.4".into()),
        };
        let search = query.to_search();
        assert_eq!(search, "?v=7.4,8.4-alpine,my%20php:1&view=performance&base=7.4");
        assert_eq!(PageQuery::parse(&search), query);
    }

    #[test]
    fn defaults_leave_the_query_empty_and_none_ticked_is_an_empty_list() {
        assert_eq!(PageQuery::default().to_search(), "");
        assert_eq!(PageQuery::parse(""), PageQuery::default());
        let none = PageQuery {
            versions: Some(Vec::new()),
            ..Default::default()
        };
        assert_eq!(none.to_search(), "?v=");
        assert_eq!(PageQuery::parse("?v="), none);
    }

    #[test]
    fn a_named_grid_stays_named_and_many_versions_default_to_groups() {
        let grid = PageQuery::parse("?view=grid");
        assert_eq!(grid.view, Some(ResultView::Grid));
        assert_eq!(grid.to_search(), "?view=grid");
        assert_eq!(ResultView::default_for(MANY_VERSIONS), ResultView::Grid);
        assert_eq!(ResultView::default_for(MANY_VERSIONS + 1), ResultView::Grouped);
    }

    #[test]
    fn odd_input_is_read_leniently() {
        let query = PageQuery::parse("?v=8.4,,%37.4%&view=nonsense&base=&x=1");
        assert_eq!(query.versions, Some(vec!["8.4".to_owned(), "7.4%".to_owned()]));
        assert_eq!(query.view, None);
        assert_eq!(query.base, None);
    }
}
