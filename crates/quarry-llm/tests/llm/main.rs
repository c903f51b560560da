//! quarry-llm against real components: the embedded GGUF model, a real llama.cpp server
//! (llama-cpp-python's, started here on 127.0.0.1), and a fault-injecting server for the
//! failures a real one will not produce on demand. One binary, so llama.cpp links once.

mod cache;
mod embedded;
mod faults;
mod server;
mod util;
