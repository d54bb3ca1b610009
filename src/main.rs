use clap::Parser;

fn main() {
    let cli = wirelab::cli::Cli::parse();
    match wirelab::cli::run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            // Output piped into `head` and closed early is not an error.
            if e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) {
                std::process::exit(0);
            }
            eprintln!("wirelab: {e:#}");
            std::process::exit(1);
        }
    }
}
