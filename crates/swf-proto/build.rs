//! Generates the tonic/prost code for `proto/swf.proto` with a vendored protoc (no system protoc needed).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    std::env::set_var("PROTOC", protoc);
    println!("cargo:rerun-if-changed=../../proto/swf.proto");
    tonic_build::configure().compile_protos(&["../../proto/swf.proto"], &["../../proto"])?;
    Ok(())
}
