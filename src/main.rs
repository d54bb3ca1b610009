use clap::Parser;

fn main() {
    let cli = wirelab::cli::Cli::parse();
    match wirelab::cli::run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("wirelab: {e:#}");
            std::process::exit(1);
        }
    }
}
