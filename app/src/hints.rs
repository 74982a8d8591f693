//! Hints that explain a result: which extension an image lacks when a script calls a function
//! or class that image does not have.

/// Function name prefixes and class names, and the extension that defines them.
const FUNCTIONS: &[(&str, &str)] = &[
    ("mb_", "mbstring"),
    ("bc", "bcmath"),
    ("gmp_", "gmp"),
    ("sodium_", "sodium"),
    ("curl_", "curl"),
    ("image", "gd"),
    ("grapheme_", "intl"),
    ("idn_", "intl"),
    ("intl", "intl"),
    ("numfmt_", "intl"),
    ("collator_", "intl"),
    ("normalizer_", "intl"),
    ("posix_", "posix"),
    ("pcntl_", "pcntl"),
    ("ctype_", "ctype"),
    ("iconv", "iconv"),
    ("simplexml_", "simplexml"),
    ("xml_", "xml"),
    ("openssl_", "openssl"),
    ("gz", "zlib"),
    ("bz", "bz2"),
    ("exif_", "exif"),
    ("socket_", "sockets"),
    ("sqlite_", "sqlite3"),
    ("mysqli_", "mysqli"),
    ("pg_", "pgsql"),
    ("ftp_", "ftp"),
    ("yaml_", "yaml"),
    ("token_", "tokenizer"),
];

const CLASSES: &[(&str, &str)] = &[
    ("NumberFormatter", "intl"),
    ("Collator", "intl"),
    ("IntlDateFormatter", "intl"),
    ("Normalizer", "intl"),
    ("SQLite3", "sqlite3"),
    ("PDO", "PDO"),
    ("SimpleXMLElement", "SimpleXML"),
    ("DOMDocument", "dom"),
    ("XMLReader", "xmlreader"),
    ("XMLWriter", "xmlwriter"),
    ("ZipArchive", "zip"),
    ("GMP", "gmp"),
    ("FFI", "FFI"),
];

/// The extension `output` shows to be missing, when it is not among `loaded` (the image's
/// extensions, as `get_loaded_extensions()` names them; compared without case).
pub fn missing_extension(output: &str, loaded: &[String]) -> Option<&'static str> {
    let extension = undefined_function(output)
        .and_then(|function| {
            FUNCTIONS
                .iter()
                .find(|(prefix, _)| function.starts_with(prefix))
                .map(|(_, extension)| *extension)
        })
        .or_else(|| {
            let class = undefined_class(output)?;
            CLASSES
                .iter()
                .find(|(name, _)| *name == class)
                .map(|(_, extension)| *extension)
        })?;
    let is_loaded = loaded.iter().any(|name| name.eq_ignore_ascii_case(extension));
    (!is_loaded && !loaded.is_empty()).then_some(extension)
}

/// `mb_strlen` from "Call to undefined function mb_strlen()".
fn undefined_function(output: &str) -> Option<&str> {
    let rest = output.split("Call to undefined function ").nth(1)?;
    let name = rest
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '\\'))
        .next()?;
    // A namespaced call falls back to the global function: its last part.
    Some(name.rsplit('\\').next().unwrap_or(name))
}

/// `Collator` from `Class "Collator" not found` (PHP 8) or `Class 'Collator' not found` (7).
fn undefined_class(output: &str) -> Option<&str> {
    let rest = output
        .split("Class ")
        .find_map(|part| part.strip_prefix(['"', '\'']))?;
    let name = rest.split(['"', '\'']).next()?;
    rest[name.len()..]
        .get(1..)?
        .starts_with(" not found")
        .then_some(name.trim_start_matches('\\'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loaded(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| name.to_string()).collect()
    }

    #[test]
    fn an_undefined_function_of_a_missing_extension_names_it() {
        let output =
            "PHP Fatal error:  Uncaught Error: Call to undefined function mb_strlen() in /in/main.php:3";
        assert_eq!(
            missing_extension(output, &loaded(&["Core", "standard"])),
            Some("mbstring")
        );
        let namespaced = "Call to undefined function App\\bcadd() in /in/main.php:2";
        assert_eq!(missing_extension(namespaced, &loaded(&["Core"])), Some("bcmath"));
    }

    #[test]
    fn a_missing_class_names_its_extension_in_both_quote_styles() {
        let php8 = "Uncaught Error: Class \"Collator\" not found in /in/main.php:2";
        let php7 = "Uncaught Error: Class 'SQLite3' not found in /in/main.php:2";
        assert_eq!(missing_extension(php8, &loaded(&["Core"])), Some("intl"));
        assert_eq!(missing_extension(php7, &loaded(&["Core"])), Some("sqlite3"));
    }

    #[test]
    fn nothing_is_said_when_the_extension_is_there_or_unknown() {
        let output = "Call to undefined function mb_strlen()";
        assert_eq!(missing_extension(output, &loaded(&["Core", "MBString"])), None);
        assert_eq!(missing_extension(output, &[]), None, "extensions not known");
        assert_eq!(
            missing_extension("Call to undefined function my_helper()", &loaded(&["Core"])),
            None
        );
        assert_eq!(
            missing_extension("Class \"App\\Thing\" not found", &loaded(&["Core"])),
            None
        );
    }
}
