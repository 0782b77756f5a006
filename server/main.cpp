// zumzi-server: reads the configuration, opens the store (applying
// migrations), makes sure the default app exists and serves until SIGINT or
// SIGTERM.
#include <glib-unix.h>
#include <glib/gstdio.h>

#include <cstdio>
#include <cstdlib>

#include "auth.h"
#include "code_delivery.h"
#include "config.h"
#include "server.h"
#include "store.h"

using namespace zumzi;

namespace {

struct Flags {
    char* config = nullptr;
    int port = -1;
    char* data_dir = nullptr;
    char* listen = nullptr;
    char* schema_dir = nullptr;
    gboolean demo = FALSE;
    char* create_app = nullptr;
    gboolean version = FALSE;
    ~Flags()
    {
        g_free(config);
        g_free(data_dir);
        g_free(listen);
        g_free(schema_dir);
        g_free(create_app);
    }
};

int die(const char* what, const char* message)
{
    g_printerr("zumzi-server: %s: %s\n", what, message);
    return 1;
}

void print_api_key(const App& app, const std::string& key)
{
    g_print(
        "\n  App '%s' (%s) created. Its API key, shown only this once:\n\n    %s\n\n"
        "  Server-to-server calls use it as 'Authorization: Bearer <key>'.\n\n",
        app.name.c_str(), app.id.c_str(), key.c_str());
}

}  // namespace

int main(int argc, char** argv)
{
    Flags flags;
    GOptionEntry entries[] = {
        {"config", 'c', 0, G_OPTION_ARG_FILENAME, &flags.config, "INI configuration file", "FILE"},
        {"port", 'p', 0, G_OPTION_ARG_INT, &flags.port, "TCP port (0: any free port)", "PORT"},
        {"listen", 'l', 0, G_OPTION_ARG_STRING, &flags.listen, "IP address to listen on", "ADDR"},
        {"data-dir", 'd', 0, G_OPTION_ARG_FILENAME, &flags.data_dir,
         "Directory for the database and files", "DIR"},
        {"schema-dir", 0, 0, G_OPTION_ARG_FILENAME, &flags.schema_dir,
         "Directory of the SQL migrations", "DIR"},
        {"demo", 0, 0, G_OPTION_ARG_NONE, &flags.demo, "Demo login: also accept the code 123456",
         nullptr},
        {"create-app", 0, 0, G_OPTION_ARG_STRING, &flags.create_app,
         "Create an app, print its API key and exit", "NAME"},
        {"version", 0, 0, G_OPTION_ARG_NONE, &flags.version, "Print the version and exit", nullptr},
        {nullptr, 0, 0, G_OPTION_ARG_NONE, nullptr, nullptr, nullptr},
    };
    g_autoptr(GOptionContext) options = g_option_context_new("- Zumzi conferencing server");
    g_option_context_add_main_entries(options, entries, nullptr);
    g_autoptr(GError) error = nullptr;
    if (!g_option_context_parse(options, &argc, &argv, &error))
        return die("bad arguments", error->message);
    if (argc > 1)
        return die("bad arguments", (std::string("unexpected '") + argv[1] + "'").c_str());
    if (flags.version) {
        g_print("zumzi-server %s\n", ZUMZI_VERSION);
        return 0;
    }

    Config config;
    config.schema_dir = ZUMZI_SCHEMA_DIR;
    config.web_dir = ZUMZI_WEB_DIR;
    config.vendor_dir = ZUMZI_VENDOR_DIR;
    if (flags.config && !config_load_file(config, flags.config, &error))
        return die("configuration", error->message);
    if (flags.port >= 0)
        config.port = flags.port;
    if (flags.port < -1 || flags.port > 65535)
        return die("bad arguments", "--port must be from 0 to 65535");
    if (flags.listen)
        config.listen = flags.listen;
    if (flags.data_dir)
        config.data_dir = flags.data_dir;
    if (flags.schema_dir)
        config.schema_dir = flags.schema_dir;
    if (flags.demo)
        config.demo = true;
    if (!config_validate(config, &error))
        return die("configuration", error->message);

    if (g_mkdir_with_parents(config.data_dir.c_str(), 0700) != 0)
        return die(config.data_dir.c_str(), g_strerror(errno));
    auto store = Store::open(config.database_path(), config.schema_dir, &error);
    if (!store)
        return die("store", error->message);

    LogCodeDelivery delivery;
    Server server(config, *store, delivery);
    try {
        if (flags.create_app) {
            auto [app, key] = server.auth().create_app(flags.create_app, false);
            print_api_key(app, key);
            return 0;
        }
        if (!store->default_app()) {
            auto [app, key] = server.auth().create_app("default", true);
            print_api_key(app, key);
        }
    } catch (const StoreError& e) {
        return die("store", e.what());
    }

    // SIGINT and SIGTERM are handled before the server says it is listening:
    // a supervisor may stop it as soon as it has said so, and that must be
    // a clean stop, not death by the default signal action.
    g_autoptr(GMainLoop) loop = g_main_loop_new(nullptr, FALSE);
    auto quit = [](gpointer l) -> gboolean {
        g_main_loop_quit(static_cast<GMainLoop*>(l));
        return G_SOURCE_REMOVE;
    };
    g_unix_signal_add(SIGINT, quit, loop);
    g_unix_signal_add(SIGTERM, quit, loop);

    if (!server.listen(&error))
        return die("listen", error->message);
    g_print("Zumzi %s listening on %s/ (data in %s%s)\n", ZUMZI_VERSION, server.url().c_str(),
            config.data_dir.c_str(), config.demo ? ", demo login: code 123456" : "");

    // Expired tokens are useless; drop them hourly.
    g_timeout_add_seconds(
        3600,
        [](gpointer s) -> gboolean {
            try {
                static_cast<Store*>(s)->delete_expired_tokens(g_get_real_time() / 1000);
            } catch (const StoreError& e) {
                g_warning("token cleanup: %s", e.what());
            }
            return G_SOURCE_CONTINUE;
        },
        store.get());
    g_main_loop_run(loop);
    g_print("zumzi-server: stopped\n");
    return 0;
}
