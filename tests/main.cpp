// CppUTest runner shared by every suite. CppUTest's new/delete leak checker
// is switched off: GLib, libsoup and SQLite keep process-lifetime caches that
// it would report as leaks of whichever test first touched them. Leaks are
// measured with valgrind and GST_TRACERS=leaks instead.
//
// A hung test is otherwise only a meson timeout with nothing to show: the
// watchdog prints which test hangs and every thread's stack (with gdb, which
// tools/setup installs), then aborts. ZUMZI_TEST_WATCHDOG_S sets the seconds
// one test may run (default 150; 0 turns it off).
#include <CppUTest/CommandLineTestRunner.h>
#include <CppUTest/MemoryLeakWarningPlugin.h>
#include <CppUTest/TestPlugin.h>
#include <CppUTest/TestRegistry.h>

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>

namespace {

// Every thread's stack of this process, on stderr.
void print_stacks()
{
    const std::string pid = std::to_string(getpid());
    const pid_t child = fork();
    if (child == 0) {
        dup2(STDERR_FILENO, STDOUT_FILENO);
        execlp("gdb", "gdb", "-p", pid.c_str(), "-batch", "-nx", "-ex", "set pagination off",
               "-ex", "thread apply all bt", static_cast<char*>(nullptr));
        const char message[] = "watchdog: no gdb to print the stacks\n";
        (void)!write(STDERR_FILENO, message, sizeof message - 1);
        _exit(127);
    }
    if (child > 0)
        waitpid(child, nullptr, 0);
}

class Watchdog : public TestPlugin {
public:
    explicit Watchdog(int seconds) : TestPlugin("watchdog"), limit_(seconds)
    {
        // gdb attaches from a child process (Yama's ptrace_scope 1 allows
        // only ancestors otherwise).
        prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
        thread_ = std::thread([this] { watch(); });
    }

    ~Watchdog() override
    {
        {
            std::lock_guard<std::mutex> hold(lock_);
            quit_ = true;
        }
        wake_.notify_one();
        thread_.join();
    }

    void preTestAction(UtestShell& test, TestResult&) override
    {
        std::lock_guard<std::mutex> hold(lock_);
        test_ = std::string("TEST(") + test.getGroup().asCharString() + ", " +
                test.getName().asCharString() + ")";
        deadline_ = std::chrono::steady_clock::now() + std::chrono::seconds(limit_);
        running_ = true;
        wake_.notify_one();
    }

    void postTestAction(UtestShell&, TestResult&) override
    {
        std::lock_guard<std::mutex> hold(lock_);
        running_ = false;
        wake_.notify_one();
    }

private:
    void watch()
    {
        std::unique_lock<std::mutex> hold(lock_);
        while (!quit_) {
            if (!running_) {
                wake_.wait(hold);
                continue;
            }
            if (wake_.wait_until(hold, deadline_) == std::cv_status::timeout && running_ &&
                std::chrono::steady_clock::now() >= deadline_) {
                fprintf(stderr, "\nwatchdog: %s still runs after %d s; the stacks of every thread:\n",
                        test_.c_str(), limit_);
                fflush(stdout);
                fflush(stderr);
                print_stacks();
                fprintf(stderr, "watchdog: aborting %s\n", test_.c_str());
                std::abort();
            }
        }
    }

    const int limit_;
    std::thread thread_;
    std::mutex lock_;
    std::condition_variable wake_;
    std::chrono::steady_clock::time_point deadline_;
    std::string test_;
    bool running_ = false;
    bool quit_ = false;
};

}  // namespace

int main(int argc, char** argv)
{
    MemoryLeakWarningPlugin::turnOffNewDeleteOverloads();
    const char* env = getenv("ZUMZI_TEST_WATCHDOG_S");
    const int seconds = env ? atoi(env) : 150;
    if (seconds <= 0)
        return CommandLineTestRunner::RunAllTests(argc, argv);
    Watchdog watchdog(seconds);
    TestRegistry::getCurrentRegistry()->installPlugin(&watchdog);
    const int failures = CommandLineTestRunner::RunAllTests(argc, argv);
    TestRegistry::getCurrentRegistry()->removePluginByName("watchdog");
    return failures;
}
