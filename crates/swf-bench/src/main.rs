//! `swf-bench`: a load generator speaking the SWF wire protocol (work in progress).

fn main() {
    eprintln!("swf-bench: not built yet");
    std::process::exit(2);
}
