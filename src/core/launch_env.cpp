#include "nlpc/core/launch_env.h"

#include <cstdlib>
#include <unistd.h>

#include "nlpc/core/error.h"

extern char** environ;

namespace nlpc {
namespace {

using Env = std::map<std::string, std::string>;

const std::string* find(const Env& env, const std::string& key) {
  auto it = env.find(key);
  return it == env.end() || it->second.empty() ? nullptr : &it->second;
}

int to_int(const Env& env, const std::string& key, int min_value) {
  const std::string& s = *find(env, key);
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(s.c_str(), &end, 10);
  if (errno != 0 || end == s.c_str() || *end != '\0' || v < min_value || v > 1000000) {
    throw UsageError("environment variable " + key + "='" + s + "' is not an integer >= " +
                     std::to_string(min_value));
  }
  return static_cast<int>(v);
}

// The first of `keys` that is set, as an int; `fallback` when none is.
int first_int(const Env& env, std::initializer_list<const char*> keys, int min_value, int fallback) {
  for (const char* k : keys) {
    if (find(env, k)) return to_int(env, k, min_value);
  }
  return fallback;
}

bool is_true(const std::string& v) { return v == "1" || v == "True" || v == "true" || v == "TRUE"; }

}  // namespace

LaunchEnv parse_launch_env(const Env& env) {
  LaunchEnv e;
  if (find(env, "RANK") || find(env, "WORLD_SIZE")) {
    if (!find(env, "RANK") || !find(env, "WORLD_SIZE")) {
      throw UsageError(std::string("environment variable ") + (find(env, "RANK") ? "WORLD_SIZE" : "RANK") +
                       " is not set, but " + (find(env, "RANK") ? "RANK" : "WORLD_SIZE") +
                       " is: the env:// launch contract needs both (and MASTER_ADDR, MASTER_PORT)");
    }
    e.source = "env://";
    e.rank = to_int(env, "RANK", 0);
    e.world_size = to_int(env, "WORLD_SIZE", 1);
    e.local_rank = first_int(env, {"LOCAL_RANK"}, 0, -1);
    e.local_world_size = first_int(env, {"LOCAL_WORLD_SIZE"}, 1, -1);
  } else if (find(env, "SLURM_PROCID") && find(env, "SLURM_NTASKS")) {
    e.source = "slurm";
    e.rank = to_int(env, "SLURM_PROCID", 0);
    e.world_size = to_int(env, "SLURM_NTASKS", 1);
    e.local_rank = first_int(env, {"SLURM_LOCALID"}, 0, -1);
    // "4" or "4(x2)": tasks on this node
    if (const std::string* t = find(env, "SLURM_NTASKS_PER_NODE")) {
      e.local_world_size = std::atoi(t->c_str()) > 0 ? std::atoi(t->c_str()) : -1;
    } else {
      e.local_world_size = -1;
    }
  } else if (find(env, "OMPI_COMM_WORLD_RANK") && find(env, "OMPI_COMM_WORLD_SIZE")) {
    e.source = "openmpi";
    e.rank = to_int(env, "OMPI_COMM_WORLD_RANK", 0);
    e.world_size = to_int(env, "OMPI_COMM_WORLD_SIZE", 1);
    e.local_rank = first_int(env, {"OMPI_COMM_WORLD_LOCAL_RANK"}, 0, -1);
    e.local_world_size = first_int(env, {"OMPI_COMM_WORLD_LOCAL_SIZE"}, 1, -1);
  } else {
    return e;
  }
  if (e.rank >= e.world_size) {
    throw UsageError("rank " + std::to_string(e.rank) + " is not below the world size " +
                     std::to_string(e.world_size) + " (launcher variables of " + e.source + ")");
  }
  // Without local information, a job is taken to be on one node.
  if (e.local_world_size < 0) e.local_world_size = e.world_size;
  if (e.local_rank < 0) e.local_rank = e.rank % e.local_world_size;
  if (e.local_rank >= e.local_world_size) {
    throw UsageError("local rank " + std::to_string(e.local_rank) + " is not below the local world size " +
                     std::to_string(e.local_world_size));
  }
  e.master_port = first_int(env, {"MASTER_PORT"}, 1, 29500);
  if (e.master_port > 65535) throw UsageError("environment variable MASTER_PORT is not a port number (1-65535)");
  if (const std::string* a = find(env, "MASTER_ADDR")) {
    e.master_addr = *a;
  } else if (e.world_size > 1 && e.local_world_size < e.world_size) {
    throw UsageError("a job over several machines (world size " + std::to_string(e.world_size) +
                     ", " + std::to_string(e.local_world_size) +
                     " on this one) needs MASTER_ADDR: the address of the machine running rank 0");
  } else {
    e.master_addr = "127.0.0.1";
  }
  if (const std::string* s = find(env, "TORCHELASTIC_USE_AGENT_STORE")) e.agent_store = is_true(*s);
  e.restart_count = first_int(env, {"TORCHELASTIC_RESTART_COUNT"}, 0, 0);
  return e;
}

const LaunchEnv& launch_env() {
  static const LaunchEnv e = [] {
    Env env;
    for (char** p = environ; p != nullptr && *p != nullptr; ++p) {
      const std::string kv = *p;
      const size_t eq = kv.find('=');
      if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    return parse_launch_env(env);
  }();
  return e;
}

}  // namespace nlpc
