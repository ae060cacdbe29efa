//! `gatehouse-bench` binary: parse flags, run one workload, print a table or JSON.

use std::process::ExitCode;

use clap::Parser;
use gatehouse_bench::cli::Args;
use gatehouse_bench::runner::{render_table, run};

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args).await {
        Ok(report) => {
            if args.json {
                match serde_json::to_string_pretty(&report) {
                    Ok(s) => println!("{s}"),
                    Err(e) => {
                        eprintln!("gatehouse-bench: serialising the report: {e}");
                        return ExitCode::FAILURE;
                    }
                }
            } else {
                print!("{}", render_table(&report));
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gatehouse-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
