<?php
// A stand-in for PHPUnit's runner, just enough to run an exported test: the assertions it
// calls, a skip, and each data provider case. Prints one line per case: PASS, SKIP or FAIL.
namespace PHPUnit\Framework {
    class SkippedTest extends \Exception {}
    class AssertionFailed extends \Exception {}
    abstract class TestCase {
        public static function markTestSkipped(string $message = ''): void { throw new SkippedTest($message); }
        public static function assertSame($expected, $actual, string $message = ''): void {
            if ($expected !== $actual) {
                throw new AssertionFailed(var_export($expected, true) . ' !== ' . var_export($actual, true));
            }
        }
    }
}
namespace {
    $file = $argv[1];
    require $file;
    $class = basename($file, '.php');
    foreach ($class::outputs() as $name => $arguments) {
        try {
            (new $class())->testOutput(...$arguments);
            echo "PASS $name\n";
        } catch (PHPUnit\Framework\SkippedTest $skip) {
            echo "SKIP $name\n";
        } catch (Throwable $failure) {
            echo "FAIL $name: ", $failure->getMessage(), "\n";
        }
    }
}
