// Per-track reports of a set of bots, as a text table or JSON.
#pragma once

#include <string>
#include <vector>

#include "bot.h"

namespace zumzi::bot {

// Call Bot::refresh_stats() first to get loss figures.
std::string report_table(const std::vector<const Bot*>& bots, double seconds);
std::string report_json(const std::vector<const Bot*>& bots, double seconds);

}  // namespace zumzi::bot
