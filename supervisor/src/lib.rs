//! The protocol between evalgrid's runner and the supervisor, the main process of a worker
//! container (see `main.rs`): one home for both sides, as the Rust Playground's `message.rs`.
//!
//! The runner writes to the supervisor's stdin, the supervisor to its stdout (the engine's
//! attach stream carries both); the supervisor's stderr is for its own complaints, which the
//! runner logs.
//!
//! - runner → supervisor: [`REQUEST_RUN`], a `u32` length (little-endian) and a run's input
//!   exactly as the single-use container's shell reads it on stdin; or [`REQUEST_CANCEL`],
//!   one byte, which stops the run in flight (ignored between runs).
//! - supervisor → runner: frames of a kind byte, a `u32` length and the payload:
//!   [`Frame::Ready`] once at start; [`Frame::Started`] once a run's namespaces are made (a
//!   worker that ends before it never took the run); [`Frame::Stdout`] and [`Frame::Stderr`]
//!   as the run writes;
//!   then [`Frame::Ended`] with how it ended ([`Ended`]), or [`Frame::Failed`] when the run's
//!   sandbox could not be set up. After `Ended` with `clean`, the next run may be sent; a
//!   supervisor that cannot confirm a clean state exits after saying so.

/// What the supervisor says when it is ready; the runner refuses another.
pub const PROTOCOL: &str = "evalgrid-supervisor 1";

pub const REQUEST_RUN: u8 = b'W';
pub const REQUEST_CANCEL: u8 = b'K';

/// The calls the worker container's seccomp profile allows beyond evalgrid's allowlist, for the
/// supervisor to make each run's namespaces and mounts: `clone` with namespace flags, `mount`.
/// The supervisor denies them again in every run (with the other namespace, mount, `ptrace`
/// and keyring calls) before PHP starts, so a run has exactly the allowlist.
pub const SUPERVISOR_CALLS: &[&str] = &["clone", "mount"];

const READY: u8 = b'R';
const STARTED: u8 = b'S';
const STDOUT: u8 = b'O';
const STDERR: u8 = b'E';
const ENDED: u8 = b'X';
const FAILED: u8 = b'F';

/// A frame from the supervisor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// The supervisor started; its [`PROTOCOL`].
    Ready(String),
    /// The run's namespaces are made and its input is on its way.
    Started,
    Stdout(Vec<u8>),
    Stderr(Vec<u8>),
    Ended(Ended),
    /// The run's sandbox could not be set up: the supervisor's words for why.
    Failed(String),
}

/// How a run ended, as the supervisor saw it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ended {
    /// The run's exit status: its shell's exit code, or 128 + the signal that killed it.
    pub exit_code: i32,
    /// CPU time (user + system) of every process of the run, in microseconds (`wait4`'s
    /// rusage of the run's first process, which waited for the rest).
    pub cpu_us: u64,
    /// The largest resident set of any process of the run, in bytes (rusage's `ru_maxrss`).
    pub peak_rss_bytes: u64,
    /// The kernel's OOM killer killed a process of the worker during the run.
    pub oom_killed: bool,
    /// A fork failed at the worker's process limit during the run.
    pub pids_exhausted: bool,
    /// Killed at the time limit.
    pub timed_out: bool,
    /// Killed for writing more than the output limit to a stream.
    pub flooded: bool,
    /// Killed because the runner asked.
    pub cancelled: bool,
    /// No process of the run is left and the supervisor's mounts are as they were: the worker
    /// may serve another run. When false, the supervisor exits.
    pub clean: bool,
}

impl Ended {
    /// `key=value` pairs, space-separated.
    pub fn encode(&self) -> String {
        let flag = |on: bool| u8::from(on);
        format!(
            "exit={} cpu_us={} peak_rss={} oom={} pids={} timeout={} flood={} cancel={} clean={}",
            self.exit_code,
            self.cpu_us,
            self.peak_rss_bytes,
            flag(self.oom_killed),
            flag(self.pids_exhausted),
            flag(self.timed_out),
            flag(self.flooded),
            flag(self.cancelled),
            flag(self.clean),
        )
    }

    pub fn decode(text: &str) -> Result<Self, ProtocolError> {
        let bad = || ProtocolError::BadEnded(text.to_owned());
        let mut ended = Ended::default();
        for pair in text.split(' ') {
            let (key, value) = pair.split_once('=').ok_or_else(bad)?;
            let number = || value.parse::<u64>().map_err(|_| bad());
            let flag = || match value {
                "0" => Ok(false),
                "1" => Ok(true),
                _ => Err(bad()),
            };
            match key {
                "exit" => ended.exit_code = value.parse().map_err(|_| bad())?,
                "cpu_us" => ended.cpu_us = number()?,
                "peak_rss" => ended.peak_rss_bytes = number()?,
                "oom" => ended.oom_killed = flag()?,
                "pids" => ended.pids_exhausted = flag()?,
                "timeout" => ended.timed_out = flag()?,
                "flood" => ended.flooded = flag()?,
                "cancel" => ended.cancelled = flag()?,
                "clean" => ended.clean = flag()?,
                // A newer supervisor may say more.
                _ => {}
            }
        }
        Ok(ended)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtocolError {
    UnknownFrame(u8),
    BadEnded(String),
    /// A frame longer than any the supervisor sends.
    TooLong(usize),
}

impl std::fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::UnknownFrame(kind) => write!(f, "unknown frame kind {kind:#04x} from the supervisor"),
            Self::BadEnded(text) => write!(f, "unreadable end of run from the supervisor: {text:?}"),
            Self::TooLong(length) => write!(f, "a frame of {length} bytes from the supervisor"),
        }
    }
}

impl std::error::Error for ProtocolError {}

/// The longest frame the supervisor sends (its reads of the run's pipes are smaller).
pub const MAX_FRAME: usize = 1 << 20;

/// One frame as bytes on the wire.
pub fn encode_frame(kind: u8, payload: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(5 + payload.len());
    frame.push(kind);
    frame.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    frame.extend_from_slice(payload);
    frame
}

impl Frame {
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Frame::Ready(protocol) => encode_frame(READY, protocol.as_bytes()),
            Frame::Started => encode_frame(STARTED, b""),
            Frame::Stdout(bytes) => encode_frame(STDOUT, bytes),
            Frame::Stderr(bytes) => encode_frame(STDERR, bytes),
            Frame::Ended(ended) => encode_frame(ENDED, ended.encode().as_bytes()),
            Frame::Failed(message) => encode_frame(FAILED, message.as_bytes()),
        }
    }
}

/// A run request as bytes on the wire.
pub fn encode_request(wire: &[u8]) -> Vec<u8> {
    encode_frame(REQUEST_RUN, wire)
}

/// Frames out of a byte stream that arrives in pieces of any size.
#[derive(Debug, Default)]
pub struct Decoder {
    buffer: Vec<u8>,
}

impl Decoder {
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// The next whole frame, if one has arrived.
    pub fn next_frame(&mut self) -> Option<Result<Frame, ProtocolError>> {
        let header: [u8; 5] = self.buffer.get(..5)?.try_into().ok()?;
        let length = u32::from_le_bytes(header[1..].try_into().ok()?) as usize;
        if length > MAX_FRAME {
            return Some(Err(ProtocolError::TooLong(length)));
        }
        if self.buffer.len() < 5 + length {
            return None;
        }
        let payload: Vec<u8> = self.buffer[5..5 + length].to_vec();
        self.buffer.drain(..5 + length);
        let text = || String::from_utf8_lossy(&payload).into_owned();
        Some(match header[0] {
            READY => Ok(Frame::Ready(text())),
            STARTED => Ok(Frame::Started),
            STDOUT => Ok(Frame::Stdout(payload)),
            STDERR => Ok(Frame::Stderr(payload)),
            ENDED => Ended::decode(&text()).map(Frame::Ended),
            FAILED => Ok(Frame::Failed(text())),
            other => Err(ProtocolError::UnknownFrame(other)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_survive_any_split() {
        let frames = vec![
            Frame::Ready(PROTOCOL.into()),
            Frame::Started,
            Frame::Stdout(b"hello\n".to_vec()),
            Frame::Stderr(Vec::new()),
            Frame::Ended(Ended {
                exit_code: 255,
                cpu_us: 12_345,
                peak_rss_bytes: 9 << 20,
                timed_out: true,
                clean: true,
                ..Ended::default()
            }),
            Frame::Failed("cannot mount /proc".into()),
        ];
        let bytes: Vec<u8> = frames.iter().flat_map(Frame::encode).collect();
        for piece in [1, 2, 3, 7, bytes.len()] {
            let mut decoder = Decoder::default();
            let mut decoded = Vec::new();
            for chunk in bytes.chunks(piece) {
                decoder.push(chunk);
                while let Some(frame) = decoder.next_frame() {
                    decoded.push(frame.unwrap());
                }
            }
            assert_eq!(decoded, frames, "pieces of {piece}");
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_frame() {
        let mut decoder = Decoder::default();
        decoder.push(&encode_frame(b'?', b""));
        assert_eq!(decoder.next_frame(), Some(Err(ProtocolError::UnknownFrame(b'?'))));
        let mut decoder = Decoder::default();
        decoder.push(&encode_frame(ENDED, b"exit=zero"));
        assert!(matches!(
            decoder.next_frame(),
            Some(Err(ProtocolError::BadEnded(_)))
        ));
        let mut decoder = Decoder::default();
        decoder.push(&[STDOUT, 0xff, 0xff, 0xff, 0xff]);
        assert!(matches!(
            decoder.next_frame(),
            Some(Err(ProtocolError::TooLong(_)))
        ));
    }

    #[test]
    fn an_end_reads_back_as_written() {
        let ended = Ended {
            exit_code: 137,
            cpu_us: 1,
            peak_rss_bytes: 2,
            oom_killed: true,
            pids_exhausted: true,
            timed_out: false,
            flooded: true,
            cancelled: true,
            clean: false,
        };
        assert_eq!(Ended::decode(&ended.encode()), Ok(ended));
    }
}
