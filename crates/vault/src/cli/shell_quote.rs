//! POSIX shell single quoting, for the lines a shell evaluates or sources.

/// `export NAME='value'` and a newline: a shell that evals it runs nothing
/// from the value.
pub(super) fn push_export(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(b"export ");
    out.extend_from_slice(name.as_bytes());
    out.push(b'=');
    push_single_quoted(out, value);
    out.push(b'\n');
}

/// `'…'` with each `'` written `'\''`: nothing inside is expanded.
pub(super) fn push_single_quoted(out: &mut Vec<u8>, value: &[u8]) {
    out.push(b'\'');
    for &b in value {
        if b == b'\'' {
            out.extend_from_slice(b"'\\''");
        } else {
            out.push(b);
        }
    }
    out.push(b'\'');
}
