// Container ids from cgroup-v2 paths.
#include <gtest/gtest.h>

#include "userspace/daemon/container_id.h"

using jvmwatch::daemon::container_id_from_cgroup;

namespace {
const std::string kId = "4f1c2b3a4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8";
}

TEST(DaemonContainerId, DockerSystemdScope) {
    EXPECT_EQ(container_id_from_cgroup("/system.slice/docker-" + kId + ".scope"), kId);
}

TEST(DaemonContainerId, DockerCgroupfs) {
    EXPECT_EQ(container_id_from_cgroup("/docker/" + kId), kId);
}

TEST(DaemonContainerId, KubernetesContainerd) {
    EXPECT_EQ(container_id_from_cgroup("/kubepods.slice/kubepods-burstable.slice/"
                                       "kubepods-burstable-pod1234_5678.slice/cri-containerd-" +
                                       kId + ".scope"),
              kId);
    EXPECT_EQ(container_id_from_cgroup("/kubepods/besteffort/pod0b5e/" + kId), kId);
}

TEST(DaemonContainerId, CrioAndPodman) {
    EXPECT_EQ(container_id_from_cgroup("/kubepods.slice/kubepods-pod1.slice/crio-" + kId + ".scope"), kId);
    EXPECT_EQ(container_id_from_cgroup("/machine.slice/libpod-" + kId + ".scope"), kId);
    EXPECT_EQ(container_id_from_cgroup("/machine.slice/libpod-" + kId + ".scope/container"), kId);
}

TEST(DaemonContainerId, NotAContainer) {
    EXPECT_EQ(container_id_from_cgroup(""), "");
    EXPECT_EQ(container_id_from_cgroup("/"), "");
    EXPECT_EQ(container_id_from_cgroup("/user.slice/user-0.slice/session-3.scope"), "");
    EXPECT_EQ(container_id_from_cgroup("/system.slice/docker.service"), "");
    EXPECT_EQ(container_id_from_cgroup("/machine.slice/libpod-conmon-" + kId + ".scope"), "");
    EXPECT_EQ(container_id_from_cgroup("/system.slice/docker-XYZ.scope"), "");
    // Upper-case or too-short hex is not an id.
    EXPECT_EQ(container_id_from_cgroup("/docker/ABCDEF"), "");
}
