#include "meshd/core/process.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

namespace meshd::core {
namespace {

std::string read_all(int fd) {
  std::string out;
  char buf[256];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0)
      out.append(buf, static_cast<std::size_t>(n));
    else if (n < 0 && errno == EAGAIN)
      ::usleep(1000);
    else
      break;
  }
  return out;
}

TEST(SpawnProcess, RunsInItsOwnGroupWithTheGivenEnvironment) {
  SpawnRequest req;
  req.argv = {"/bin/sh", "-c", "echo \"$GREETING\"; ps -o pgid= -p $$ | tr -d ' '; echo oops >&2"};
  req.env = {{"GREETING", "hi"}, {"PATH", "/usr/bin:/bin"}};
  auto p = spawn_process(req);
  ASSERT_TRUE(p.ok()) << p.error().message;
  std::string out = read_all(p->stdout_fd);
  std::string err = read_all(p->stderr_fd);
  int status = 0;
  ASSERT_EQ(::waitpid(p->pid, &status, 0), p->pid);
  EXPECT_EQ(out, "hi\n" + std::to_string(p->pid) + "\n");
  EXPECT_EQ(err, "oops\n");
  EXPECT_EQ(describe_wait_status(status), "exit code 0");
  ::close(p->stdout_fd);
  ::close(p->stderr_fd);
}

TEST(SpawnProcess, ReportsAMissingProgramAsAnErrorNotAnExit) {
  SpawnRequest req;
  req.argv = {"/nonexistent/program"};
  auto p = spawn_process(req);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message.find("/nonexistent/program"), std::string::npos);
  EXPECT_NE(p.error().message.find("No such file"), std::string::npos);
  ::waitpid(-1, nullptr, WNOHANG);
}

TEST(SpawnProcess, ReportsABadWorkingDirectory) {
  SpawnRequest req;
  req.argv = {"/bin/true"};
  req.cwd = "/nonexistent/dir";
  auto p = spawn_process(req);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message.find("/nonexistent/dir"), std::string::npos);
  ::waitpid(-1, nullptr, WNOHANG);
}

TEST(Signals, NamesAndNumbersRoundTrip) {
  EXPECT_EQ(signal_from_name("SIGTERM"), SIGTERM);
  EXPECT_EQ(signal_from_name("term"), SIGTERM);
  EXPECT_EQ(signal_from_name("9"), 9);
  EXPECT_EQ(signal_from_name("SIGNOPE"), -1);
  EXPECT_EQ(signal_from_name("99999999999"), -1);
  EXPECT_EQ(signal_name(SIGKILL), "SIGKILL");
  EXPECT_EQ(describe_wait_status(SIGKILL), "killed by SIGKILL");
}

}  // namespace
}  // namespace meshd::core
