//! Issue 23, finding 2: native code through the image's own tools. PHP's FFI is off, but every
//! Debian image has `perl`, whose `syscall` builtin makes any system call: a script had it
//! write a tiny static ELF into a `memfd` and run it from `/proc/self/fd` (on every version,
//! with `ffi.enable=0` and `noexec` tmpfs). Each route to run or map such a file from memory a
//! run can write is tried here; the profile refuses the ones through memfds, `execveat` on a
//! file descriptor and executable SysV shared memory, and the mounts refuse the rest.

use super::attack;
use crate::common::TestServer;

/// A 160-byte static x86_64 ELF of one segment that writes "native\n" to stdout and exits,
/// through raw system calls (no libc, nothing to load).
fn native_elf() -> Vec<u8> {
    const BASE: u64 = 0x40_0000;
    const HEADERS: u64 = 64 + 56;
    let code: &[u8] = &[
        0xb8, 0x01, 0x00, 0x00, 0x00, // mov eax, 1 (write)
        0xbf, 0x01, 0x00, 0x00, 0x00, // mov edi, 1 (stdout)
        0x48, 0x8d, 0x35, 0x10, 0x00, 0x00, 0x00, // lea rsi, [rip + 16] (the message)
        0xba, 0x07, 0x00, 0x00, 0x00, // mov edx, 7
        0x0f, 0x05, // syscall
        0xb8, 0xe7, 0x00, 0x00, 0x00, // mov eax, 231 (exit_group)
        0x31, 0xff, // xor edi, edi
        0x0f, 0x05, // syscall
        b'n', b'a', b't', b'i', b'v', b'e', b'\n',
    ];
    let size = HEADERS + code.len() as u64;
    let mut elf = Vec::with_capacity(size as usize);
    // ELF header: 64-bit, little-endian, version 1, System V; ET_EXEC for x86_64.
    elf.extend_from_slice(b"\x7fELF\x02\x01\x01\x00");
    elf.extend_from_slice(&[0; 8]);
    elf.extend_from_slice(&2u16.to_le_bytes()); // e_type: ET_EXEC
    elf.extend_from_slice(&0x3eu16.to_le_bytes()); // e_machine: x86_64
    elf.extend_from_slice(&1u32.to_le_bytes()); // e_version
    elf.extend_from_slice(&(BASE + HEADERS).to_le_bytes()); // e_entry: the code
    elf.extend_from_slice(&64u64.to_le_bytes()); // e_phoff
    elf.extend_from_slice(&0u64.to_le_bytes()); // e_shoff: no sections
    elf.extend_from_slice(&0u32.to_le_bytes()); // e_flags
    for half in [64u16, 56, 1, 0, 0, 0] {
        // e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx
        elf.extend_from_slice(&half.to_le_bytes());
    }
    // One PT_LOAD, readable and executable, of the whole file at BASE.
    elf.extend_from_slice(&1u32.to_le_bytes()); // p_type: PT_LOAD
    elf.extend_from_slice(&5u32.to_le_bytes()); // p_flags: R | X
    for word in [0, BASE, BASE, size, size, 0x1000] {
        // p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align
        elf.extend_from_slice(&word.to_le_bytes());
    }
    elf.extend_from_slice(code);
    assert_eq!(elf.len() as u64, size);
    elf
}

/// Runs one route (its name, the argument) and prints what became of it: "native" when the ELF
/// ran, otherwise the refusal. Numbers are x86_64's: memfd_create 319, execveat 322, mmap 9,
/// shmat 30, memfd_secret 447; MFD_NOEXEC_SEAL 8, MFD_EXEC 16, AT_EMPTY_PATH 0x1000,
/// O_TMPFILE|O_RDWR 0x410002, SHM_EXEC 0x8000.
const ROUTES_PL: &str = r#"use strict; use warnings;
my ($route) = @ARGV;
my $elf = do { local $/; open my $f, '<:raw', '/tmp/elf' or die "read elf: $!"; <$f> };
$| = 1; $^F = 255; our @keep;
sub memfd { my ($flags) = @_; my $name = "elf"; my $fd = syscall(319, $name, $flags);
    if ($fd < 0) { print "refused memfd_create: $!\n"; exit 0 }
    open(my $fh, '>&=', $fd) or die "fdopen: $!"; binmode $fh; print $fh $elf; $fh->flush; push @keep, $fh;
    return $fd }
sub run { my ($path, @args) = @_; { no warnings; exec { $path } $path, @args; } print "refused exec $path: $!\n"; exit 0 }
sub tmpfile { my ($dir) = @_; my $fh;
    sysopen($fh, $dir, 0x410002, 0700) or do { print "refused O_TMPFILE in $dir: $!\n"; exit 0 };
    binmode $fh; syswrite($fh, $elf) or die; chmod 0755, $fh; push @keep, $fh; return fileno($fh) }
sub execveat { my ($fd) = @_; my $empty = ""; syscall(322, $fd, $empty, 0, 0, 0x1000); print "refused execveat: $!\n"; exit 0 }
sub mmap_exec { my ($fd) = @_; my $at = syscall(9, 0, 4096, 5, 2, $fd, 0);
    print $at == -1 ? "refused mmap PROT_EXEC: $!\n" : "MAPPED EXECUTABLE\n"; exit 0 }
sub tmp_fd { open(my $fh, '<', '/tmp/elf') or die "open: $!"; push @keep, $fh; return fileno($fh) }
my %routes = (
    memfd => sub { run("/proc/self/fd/" . memfd(0)) },
    memfd_exec_flag => sub { run("/proc/self/fd/" . memfd(16)) },
    memfd_noexec_seal => sub { my $fd = memfd(8); chmod 0755, $keep[-1]; run("/proc/self/fd/$fd") },
    execveat_memfd => sub { execveat(memfd(0)) },
    execveat_tmp => sub { execveat(tmp_fd()) },
    exec_tmp => sub { chmod 0755, '/tmp/elf'; run('/tmp/elf') },
    exec_in => sub { chmod 0755, '/in/elf'; run('/in/elf') },
    ldso_tmp => sub { run('/lib64/ld-linux-x86-64.so.2', '/tmp/elf') },
    ldso_memfd => sub { run('/lib64/ld-linux-x86-64.so.2', "/proc/self/fd/" . memfd(0)) },
    tmpfile_tmp => sub { run("/proc/self/fd/" . tmpfile('/tmp')) },
    tmpfile_in => sub { run("/proc/self/fd/" . tmpfile('/in')) },
    mmap_memfd => sub { mmap_exec(memfd(0)) },
    mmap_tmp => sub { mmap_exec(tmp_fd()) },
    shm_exec => sub { my $id = shmget(0, 4096, 01700) // do { print "refused shmget: $!\n"; exit 0 };
        shmwrite($id, $elf, 0, length $elf) or die "shmwrite: $!";
        my $at = syscall(30, $id, 0, 0x8000);
        print $at == -1 ? "refused shmat SHM_EXEC: $!\n" : "ATTACHED EXECUTABLE\n" },
    memfd_secret => sub { my $fd = syscall(447, 0); print $fd < 0 ? "refused memfd_secret: $!\n" : "MEMFD_SECRET\n" },
);
($routes{$route} or sub { print "unknown route\n" })->();
"#;

/// Each route and what must become of it: the system call refused by the profile (ENOSYS, so
/// that callers fall back, or EPERM) or the file refused by its `noexec` mount.
const ROUTES: &[(&str, &str)] = &[
    ("memfd", "refused memfd_create: Function not implemented"),
    (
        "memfd_exec_flag",
        "refused memfd_create: Function not implemented",
    ),
    (
        "memfd_noexec_seal",
        "refused memfd_create: Function not implemented",
    ),
    ("execveat_memfd", "refused memfd_create: Function not implemented"),
    ("execveat_tmp", "refused execveat: Function not implemented"),
    ("exec_tmp", "refused exec /tmp/elf: Permission denied"),
    ("exec_in", "refused exec /in/elf: Permission denied"),
    ("ldso_tmp", "failed to map segment from shared object"),
    ("ldso_memfd", "refused memfd_create: Function not implemented"),
    ("tmpfile_tmp", "Permission denied"),
    ("tmpfile_in", "Permission denied"),
    ("mmap_memfd", "refused memfd_create: Function not implemented"),
    ("mmap_tmp", "refused mmap PROT_EXEC: Operation not permitted"),
    ("shm_exec", "refused shmat SHM_EXEC: Operation not permitted"),
    ("memfd_secret", "refused memfd_secret: Operation not permitted"),
];

#[tokio::test]
async fn native_code_cannot_be_run_from_memory_a_run_can_write() {
    let elf: String = native_elf().iter().map(|byte| format!("{byte:02x}")).collect();
    let routes: Vec<String> = ROUTES.iter().map(|(route, _)| format!("'{route}'")).collect();
    let code = format!(
        "$elf = hex2bin('{elf}');\n\
         file_put_contents('/tmp/elf', $elf);\n\
         file_put_contents('/in/elf', $elf);\n\
         file_put_contents('/tmp/routes.pl', <<<'PERL'\n{ROUTES_PL}\nPERL\n);\n\
         foreach ([{routes}] as $route) {{\n\
             $out = [];\n\
             exec('perl /tmp/routes.pl ' . $route . ' 2>&1', $out, $status);\n\
             echo $route, ': ', implode(' | ', $out), \" (exit $status)\\n\";\n\
         }}\n",
        routes = routes.join(", ")
    );
    let server = TestServer::start().await;
    let results = attack(&server, &code).await;
    for result in &results {
        let stdout = &result.outcome.stdout;
        assert!(
            !stdout.contains("native") && !stdout.contains("EXECUTABLE"),
            "{}: native code ran or was mapped executable:\n{stdout}",
            result.image
        );
        for (route, refusal) in ROUTES {
            let line = stdout
                .lines()
                .find(|line| line.starts_with(&format!("{route}: ")))
                .unwrap_or_else(|| panic!("{}: no line for {route}:\n{stdout}", result.image));
            assert!(
                line.contains(refusal),
                "{}: {route} must be refused with \"{refusal}\", got \"{line}\"",
                result.image
            );
        }
    }
}
