#include "code_delivery.h"

#include <glib.h>

namespace zumzi {

void LogCodeDelivery::deliver(const std::string& app_id, const std::string& address,
                              const std::string& code)
{
    g_log("zumzi-login", G_LOG_LEVEL_MESSAGE, "login code for %s (app %s): %s", address.c_str(),
          app_id.c_str(), code.c_str());
}

}  // namespace zumzi
