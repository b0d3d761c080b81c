//! CLI cases, one small file per case: `tests/cmd/<binary>/<case>.toml`.

#[test]
fn cli_cases() {
    trycmd::TestCases::new()
        .register_bin("litekeys", litekeys_tests::bin("litekeys"))
        .case("tests/cmd/litekeys/*.toml");
}
