//! `swf-chaos`: Jepsen-style fault injection against a cluster of real `swfd` processes (work in progress).

fn main() {
    eprintln!("swf-chaos: not built yet");
    std::process::exit(2);
}
