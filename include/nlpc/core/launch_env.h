#pragma once
// The launcher's view of this process: PyTorch's env:// contract (RANK, WORLD_SIZE, LOCAL_RANK,
// LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT, TORCHELASTIC_USE_AGENT_STORE,
// TORCHELASTIC_RESTART_COUNT), as torchrun or a person sets it, or mapped from Slurm
// (SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID, SLURM_NTASKS_PER_NODE) and Open MPI
// (OMPI_COMM_WORLD_RANK, OMPI_COMM_WORLD_SIZE, OMPI_COMM_WORLD_LOCAL_RANK,
// OMPI_COMM_WORLD_LOCAL_SIZE). No variables: a single process (world size 1). No libtorch here.
#include <map>
#include <string>

namespace nlpc {

struct LaunchEnv {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  int local_world_size = 1;
  std::string master_addr;  // empty when world_size == 1
  int master_port = 29500;  // torchrun's default
  bool agent_store = false;  // TORCHELASTIC_USE_AGENT_STORE=True: rank 0 connects as a client too
  int restart_count = 0;     // TORCHELASTIC_RESTART_COUNT
  std::string source = "none";  // "env://", "slurm", "openmpi" or "none"

  bool distributed() const { return world_size > 1; }
  bool is_main() const { return rank == 0; }
};

// Reads the launcher's variables from `env` (tests) or the process environment. A variable that is
// set but malformed, or an inconsistent set (RANK >= WORLD_SIZE, a multi-node job without
// MASTER_ADDR), throws UsageError naming the variable.
LaunchEnv parse_launch_env(const std::map<std::string, std::string>& env);
const LaunchEnv& launch_env();  // of this process, parsed once

}  // namespace nlpc
