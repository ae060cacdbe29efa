//! `gatehouse`: the server binary.

/// mimalloc instead of glibc's allocator: the request path makes many small, short-lived allocations across
/// threads (measured: bench/compare.sh, ROADMAP).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    gatehouse_gateway::cli::main()
}
