// CppUTest runner shared by every suite. CppUTest's new/delete leak checker
// is switched off: GLib, libsoup and SQLite keep process-lifetime caches that
// it would report as leaks of whichever test first touched them. Leaks are
// measured with valgrind and GST_TRACERS=leaks instead.
#include <CppUTest/CommandLineTestRunner.h>
#include <CppUTest/MemoryLeakWarningPlugin.h>

int main(int argc, char** argv)
{
    MemoryLeakWarningPlugin::turnOffNewDeleteOverloads();
    return CommandLineTestRunner::RunAllTests(argc, argv);
}
