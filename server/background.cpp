#include "background.h"

#include <gio/gio.h>

#include <exception>
#include <string>

namespace zumzi {

namespace {

struct Job {
    SoupServerMessage* msg;  // a reference, paused
    std::weak_ptr<void> alive;
    std::function<void()> work;
    std::function<Reply()> finish;
    std::string failure;  // what `work` threw
};

void delete_job(gpointer data)
{
    auto* job = static_cast<Job*>(data);
    g_object_unref(job->msg);
    delete job;
}

void run_job(GTask* task, gpointer, gpointer data, GCancellable*)
{
    auto* job = static_cast<Job*>(data);
    try {
        job->work();
    } catch (const std::exception& e) {
        job->failure = e.what();
    } catch (...) {
        job->failure = "unknown error";
    }
    g_task_return_boolean(task, TRUE);
}

void job_done(GObject*, GAsyncResult* result, gpointer)
{
    auto* job = static_cast<Job*>(g_task_get_task_data(G_TASK(result)));
    if (!job->alive.lock())
        return;  // the server is gone; delete_job drops the message
    const ApiError internal{500, "INTERNAL", "the server could not complete the request"};
    try {
        if (!job->failure.empty()) {
            g_warning("background work failed: %s", job->failure.c_str());
            send_error(job->msg, internal);
        } else {
            send_reply(job->msg, job->finish());
        }
    } catch (const ApiError& e) {
        send_error(job->msg, e);
    } catch (const std::exception& e) {
        g_warning("finishing background work: %s", e.what());
        send_error(job->msg, internal);
    }
    soup_server_message_unpause(job->msg);
}

}  // namespace

Reply answer_after(Request& req, std::weak_ptr<void> alive, std::function<void()> work,
                   std::function<Reply()> finish)
{
    SoupServerMessage* msg = req.message();
    auto* job = new Job{SOUP_SERVER_MESSAGE(g_object_ref(msg)),
                        std::move(alive),
                        std::move(work),
                        std::move(finish),
                        {}};
    soup_server_message_pause(msg);
    GTask* task = g_task_new(nullptr, nullptr, job_done, nullptr);
    g_task_set_task_data(task, job, delete_job);
    g_task_run_in_thread(task, run_job);
    g_object_unref(task);
    Reply reply;
    reply.deferred = true;
    return reply;
}

}  // namespace zumzi
