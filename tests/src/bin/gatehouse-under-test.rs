//! The `gatehouse` command line, built inside the test package (same code as the real binary).

fn main() -> anyhow::Result<()> {
    gatehouse_gateway::cli::main()
}
