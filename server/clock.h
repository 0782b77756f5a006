// Time as the server sees it, in milliseconds since the Unix epoch. Services
// take a Clock so tests can move time without sleeping.
#pragma once

#include <glib.h>

#include <cstdint>
#include <functional>

namespace zumzi {

using Clock = std::function<int64_t()>;

inline int64_t system_now_ms()
{
    return g_get_real_time() / 1000;
}

}  // namespace zumzi
