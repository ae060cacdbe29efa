//! `gatehouse`: the server binary.

fn main() -> anyhow::Result<()> {
    gatehouse_gateway::cli::main()
}
