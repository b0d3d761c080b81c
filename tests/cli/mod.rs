//! The command lines themselves: trycmd cases of the three binaries, man pages and completions, the README's quick start and exit-code table, the demo.

mod cases;
mod demo;
mod manpages;
mod readme;
mod skips;
