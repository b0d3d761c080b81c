//! Reading a secret from stdin: from a terminal a prompt with echo off,
//! from a pipe every byte as is; in buffers that are wiped.

use super::exit::Failure;
use std::io::IsTerminal;
use vault::Exit;
use zeroize::Zeroizing;

/// A secret from stdin. From a terminal: a prompt on stderr, echo off, one
/// line without its newline. From a pipe or file: every byte, as is.
pub(super) fn read_secret_stdin(prompt: &str) -> Result<Zeroizing<Vec<u8>>, Failure> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return read_all(&stdin);
    }
    let mut line = {
        // Echo off before the prompt shows: whatever is typed after it is
        // never echoed.
        let _quiet = terminal::EchoOff::new(&stdin).map_err(|e| {
            Failure::new(
                Exit::Error,
                format!("cannot turn off echo on the terminal: {e}"),
            )
        })?;
        eprint!("{prompt} (input hidden, Enter to finish): ");
        read_line(&stdin)?
    };
    if line.last() == Some(&b'\n') {
        line.pop();
    } else {
        // EOF without Enter: ECHONL printed no newline.
        eprintln!();
    }
    Ok(line)
}

/// Reads to EOF into a buffer that is wiped, including while it grows.
pub(super) fn read_all(stdin: &std::io::Stdin) -> Result<Zeroizing<Vec<u8>>, Failure> {
    read_until(stdin, None)
}

fn read_line(stdin: &std::io::Stdin) -> Result<Zeroizing<Vec<u8>>, Failure> {
    read_until(stdin, Some(b'\n'))
}

fn read_until(stdin: &std::io::Stdin, stop: Option<u8>) -> Result<Zeroizing<Vec<u8>>, Failure> {
    use std::os::fd::AsFd;
    let fd = stdin.as_fd();
    let mut out = Zeroizing::new(Vec::with_capacity(4096));
    let mut chunk = Zeroizing::new([0u8; 4096]);
    loop {
        let n = match rustix::io::read(fd, &mut chunk[..]) {
            Ok(n) => n,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => {
                return Err(Failure::new(Exit::Error, format!("cannot read stdin: {e}")));
            }
        };
        if n == 0 {
            return Ok(out);
        }
        if out.len() + n > out.capacity() {
            let mut bigger = Zeroizing::new(Vec::with_capacity((out.len() + n) * 2));
            bigger.extend_from_slice(&out);
            out = bigger;
        }
        out.extend_from_slice(&chunk[..n]);
        if stop.is_some_and(|b| chunk[..n].contains(&b)) {
            return Ok(out);
        }
    }
}

mod terminal {
    use rustix::termios::{LocalModes, OptionalActions, Termios, tcgetattr, tcsetattr};
    use std::os::fd::{AsFd, BorrowedFd};

    /// Echo off (the newline still shows) until dropped.
    pub(crate) struct EchoOff<'a> {
        fd: BorrowedFd<'a>,
        saved: Termios,
    }

    impl<'a> EchoOff<'a> {
        pub(crate) fn new(stdin: &'a std::io::Stdin) -> rustix::io::Result<Self> {
            let fd = stdin.as_fd();
            let saved = tcgetattr(fd)?;
            let mut quiet = saved.clone();
            quiet.local_modes.remove(LocalModes::ECHO);
            quiet.local_modes.insert(LocalModes::ECHONL);
            tcsetattr(fd, OptionalActions::Flush, &quiet)?;
            Ok(EchoOff { fd, saved })
        }
    }

    impl Drop for EchoOff<'_> {
        fn drop(&mut self) {
            let _ = tcsetattr(self.fd, OptionalActions::Now, &self.saved);
        }
    }
}
