//! `wirelab-capture`: the capture helper, the only wirelab program that
//! holds privileges. All of it is in `wirelab::capture::helper`.

fn main() {
    std::process::exit(wirelab::capture::helper::main());
}
