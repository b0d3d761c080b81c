//! CLI cases of the three binaries, one small file per case:
//! `tests/cmd/<binary>/<case>.toml`; shared fixture files in
//! `tests/fixtures/`.

#[test]
fn cli_cases() {
    let cases = trycmd::TestCases::new();
    for binary in ["litekeys", "litekeys-rotate", "litekeys-watch"] {
        cases
            .register_bin(binary, litekeys_tests::bin(binary))
            .case(format!("tests/cmd/{binary}/*.toml"));
    }
}
