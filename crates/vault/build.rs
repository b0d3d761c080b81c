//! `litekeys exec` and `litekeys direnv` run on every command and every
//! prompt, so process start-up is most of their cost. A position-dependent
//! executable needs no start-up relocation of its own code and data (the
//! linker resolves them), which roughly halves the time to `main`.
fn main() {
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
