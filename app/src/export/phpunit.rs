//! The whole snippet as one PHPUnit test: a case per output group and ini variant, from a data
//! provider, each skipped outside the versions it holds for. The test runs the code in a PHP of
//! its own as evalgrid does (no `php.ini`, the image's extensions, evalgrid's settings) and
//! compares stdout, stderr and the exit code exactly. Valid PHP from 7.4 on, for PHPUnit 9 (the
//! `@dataProvider` annotation) to 12 (the attribute, a comment before PHP 8).

use super::{clock_note, ini_with, permalink, php_string, pin_groups, variant_results, ExportError};
use crate::compare::{without_version, VERSION_MARK};
use crate::model::{run_variants, Snippet};
use std::fmt::Write;

/// What an expected output holds in place of the version each member printed; the test puts it
/// in place of its own.
const VERSION_PLACEHOLDER: &str = "{{PHP_VERSION}}";

/// The test class's file name, `EvalgridSnippet{id}Test.php`: PHPUnit finds a class by it.
pub fn phpunit_file_name(snippet: &Snippet) -> String {
    format!("{}.php", class_name(snippet))
}

fn class_name(snippet: &Snippet) -> String {
    let id: String = snippet.id.chars().filter(char::is_ascii_alphanumeric).collect();
    format!("EvalgridSnippet{id}Test")
}

/// The PHPUnit test of every output group that can be a test, in every ini variant.
pub fn phpunit(snippet: &Snippet) -> Result<String, ExportError> {
    let mut cases = String::new();
    let mut names: Vec<String> = Vec::new();
    for variant in 0..run_variants(&snippet.ini).len() {
        let (settings, results) = variant_results(snippet, variant)?;
        let ini: Vec<String> = ini_with(&settings)
            .iter()
            .map(|(name, value)| format!("{} => {}", php_string(name), php_string(value)))
            .collect();
        let under: Vec<String> = settings
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        for pinned in pin_groups(&results)
            .iter()
            .filter(|pinned| !pinned.holds_for.is_empty())
        {
            let result = &pinned.group.result;
            let mut name = format!("PHP {}", pinned.group.label);
            if !under.is_empty() {
                let _ = write!(name, " with {}", under.join(" "));
            }
            if names.contains(&name) {
                name = format!("{name} #{}", names.len() + 1);
            }
            let own_version = pinned.group.differs_by_version;
            let expected = |text: &str| match own_version {
                true => without_version(text, &result.php_version).replace(VERSION_MARK, VERSION_PLACEHOLDER),
                false => text.to_owned(),
            };
            let ranges: Vec<String> = pinned
                .holds_for
                .iter()
                .map(|range| {
                    let [from, to] = range.comparisons();
                    format!(
                        "[{}, {}, {}, {}]",
                        php_string(from.0),
                        php_string(&from.1),
                        php_string(to.0),
                        php_string(&to.1)
                    )
                })
                .collect();
            let exit_code = result.outcome.exit_code.unwrap_or(0);
            let _ = write!(
                cases,
                "            {} => [\n                [{}],\n                [{}],\n                {},\n                {},\n                {exit_code},\n                {own_version},\n            ],\n",
                php_string(&name),
                ranges.join(", "),
                ini.join(", "),
                php_string(&expected(&result.outcome.stdout)),
                php_string(&expected(&result.outcome.stderr)),
            );
            names.push(name);
        }
    }
    if names.is_empty() {
        return Err(ExportError::NothingToExport);
    }
    let clock = clock_note(snippet)
        .map(|note| format!(" *\n * {note}\n"))
        .unwrap_or_default();
    let code = nowdoc(&snippet.code, "EVALGRID_CODE");
    let stdin = nowdoc(&snippet.stdin, "EVALGRID_STDIN");
    Ok(format!(
        r#"<?php

declare(strict_types=1);

use PHPUnit\Framework\Attributes\DataProvider;
use PHPUnit\Framework\TestCase;

/**
 * What evalgrid snippet {permalink} printed, as a test: a case per output group, each skipped
 * on the PHP versions it does not hold for. The code runs in a PHP of its own, as evalgrid ran
 * it: no php.ini, the installation's extensions, evalgrid's settings.
{clock} */
final class {class} extends TestCase
{{
    private const CODE = {code};

    private const STDIN = {stdin};

    /** Where evalgrid ran the code: the expected outputs name this path. */
    private const SCRIPT_PATH = {script_path};

    /**
     * Per case: the version ranges it holds for (version_compare operators and versions), the
     * ini settings, stdout, stderr, the exit code, and whether each version prints its own
     * version (shown as {placeholder}).
     *
     * @return array<string, array{{list<array{{string, string, string, string}}>, array<string, string>, string, string, int, bool}}>
     */
    public static function outputs(): array
    {{
        return [
{cases}        ];
    }}

    /**
     * @dataProvider outputs
     */
    #[DataProvider('outputs')]
    public function testOutput(array $holdsFor, array $ini, string $stdout, string $stderr, int $exitCode, bool $ownVersion): void
    {{
        if (!self::holdsFor($holdsFor)) {{
            self::markTestSkipped('evalgrid saw another output on PHP ' . PHP_VERSION);
        }}
        [$actualStdout, $actualStderr, $actualExitCode] = self::run($ini);
        self::assertSame($stdout, self::marked($actualStdout, $ownVersion));
        self::assertSame($stderr, self::marked($actualStderr, $ownVersion));
        self::assertSame($exitCode, $actualExitCode);
    }}

    private static function holdsFor(array $ranges): bool
    {{
        foreach ($ranges as [$fromOperator, $from, $toOperator, $to]) {{
            if (version_compare(PHP_VERSION, $from, $fromOperator) && version_compare(PHP_VERSION, $to, $toOperator)) {{
                return true;
            }}
        }}
        return false;
    }}

    /** @return array{{string, string, int}} */
    private static function run(array $ini): array
    {{
        $dir = sys_get_temp_dir() . '/evalgrid-' . bin2hex(random_bytes(8));
        mkdir($dir, 0700);
        $script = $dir . '/main.php';
        file_put_contents($script, self::CODE);
        file_put_contents($dir . '/stdin', self::STDIN);
        // -c names a directory without a php.ini: PHP's own defaults, as evalgrid runs it.
        $command = [PHP_BINARY, '-c', $dir];
        foreach ($ini as $name => $value) {{
            $command[] = '-d';
            $command[] = $name . '=' . $value;
        }}
        $command[] = $script;
        $files = [0 => ['file', $dir . '/stdin', 'r'], 1 => ['file', $dir . '/stdout', 'w'], 2 => ['file', $dir . '/stderr', 'w']];
        $exitCode = proc_close(proc_open($command, $files, $pipes));
        $read = static function (string $name) use ($dir, $script): string {{
            return str_replace($script, self::SCRIPT_PATH, (string) file_get_contents($dir . '/' . $name));
        }};
        $outputs = [$read('stdout'), $read('stderr'), $exitCode];
        foreach (['main.php', 'stdin', 'stdout', 'stderr'] as $name) {{
            unlink($dir . '/' . $name);
        }}
        rmdir($dir);
        return $outputs;
    }}

    /** The output with this PHP's own version, where it stands as a whole, as the placeholder. */
    private static function marked(string $output, bool $ownVersion): string
    {{
        if (!$ownVersion) {{
            return $output;
        }}
        $version = preg_quote(PHP_VERSION, '/');
        return (string) preg_replace('/(?<![0-9])(?<![0-9]\.)' . $version . '(?![0-9])(?!\.[0-9])/', {placeholder_string}, $output);
    }}
}}
"#,
        permalink = permalink(snippet),
        class = class_name(snippet),
        script_path = php_string(runner::SCRIPT_PATH),
        placeholder = VERSION_PLACEHOLDER,
        placeholder_string = php_string(VERSION_PLACEHOLDER),
    ))
}

/// `text` as a nowdoc whose closing marker (`marker`, made longer until no line of the text
/// could end it) stands at the start of its line, so PHP removes no indentation.
fn nowdoc(text: &str, marker: &str) -> String {
    let mut marker = marker.to_owned();
    while text.lines().any(|line| line.trim_start().starts_with(&marker)) {
        marker.push('_');
    }
    format!("<<<'{marker}'\n{text}\n{marker}")
}
