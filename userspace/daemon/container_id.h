// The container a process runs in, told from its cgroup-v2 path: Docker
// (docker-<id>.scope, /docker/<id>), Kubernetes with containerd or CRI-O
// (cri-containerd-<id>.scope, crio-<id>.scope), Podman (libpod-<id>.scope).
#pragma once

#include <string>

namespace jvmwatch::daemon {

// The container id (lowercase hex, 12-64 chars) of the innermost container named in
// `cgroup_path`, or "" if the path names none.  Conmon's own "crio-conmon-<id>" and
// "libpod-conmon-<id>" scopes are not containers and yield "".
std::string container_id_from_cgroup(const std::string& cgroup_path);

}  // namespace jvmwatch::daemon
