//! Gives `libsandbox.so` its SONAME, `libsandbox.so.<major>`: programs linked
//! against 0.x keep loading any later 0.y, and a 1.0 can sit beside it.

fn main() {
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").expect("cargo sets CARGO_PKG_VERSION_MAJOR");
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libsandbox.so.{major}");
}
