#include "report.h"

#include "json_util.h"

namespace zumzi::bot {

namespace {

std::string ms_text(gint64 ms)
{
    return ms < 0 ? "-" : std::to_string(ms);
}

}  // namespace

std::string report_table(const std::vector<const Bot*>& bots, double seconds)
{
    GString* out = g_string_new(nullptr);
    g_string_append_printf(out, "%-8s %-16s %-16s %-6s %-8s %8s %8s %7s %9s %9s %6s\n", "bot",
                           "participant", "from", "kind", "label", "packets", "frames", "fps",
                           "first_ms", "after_pub", "lost");
    for (const Bot* bot : bots) {
        auto tracks = bot->tracks();
        if (tracks.empty())
            g_string_append_printf(out, "%-8s %-16s %-16s (nothing received)\n",
                                   bot->options().name.c_str(), bot->participant_id().c_str(), "-");
        for (const auto& t : tracks) {
            g_string_append_printf(
                out, "%-8s %-16s %-16s %-6s %-8s %8llu %8llu %7.1f %9s %9s %6s\n",
                bot->options().name.c_str(), bot->participant_id().c_str(),
                t.participant_id.empty() ? "?" : t.participant_id.c_str(), t.kind.c_str(),
                t.label.empty() ? "?" : t.label.c_str(), static_cast<unsigned long long>(t.packets),
                static_cast<unsigned long long>(t.frames), t.frame_rate,
                ms_text(t.first_frame_ms).c_str(), ms_text(t.first_frame_after_publish_ms).c_str(),
                t.packets_lost < 0 ? "-" : std::to_string(t.packets_lost).c_str());
        }
    }
    for (const Bot* bot : bots) {
        g_string_append_printf(out,
                               "%s: %s, first video frame %s ms after join, %d publish "
                               "answers, %d subscribe offers, %zu errors\n",
                               bot->options().name.c_str(), to_string(bot->state()),
                               ms_text(bot->first_frame_ms()).c_str(), bot->publish_answers(),
                               bot->subscribe_offers(), bot->errors().size());
        for (const auto& e : bot->errors())
            g_string_append_printf(out, "  error: %s\n", e.c_str());
    }
    g_string_append_printf(out, "%zu bots, %.1f s\n", bots.size(), seconds);
    return std::string(g_string_free(out, FALSE));
}

std::string report_json(const std::vector<const Bot*>& bots, double seconds)
{
    std::vector<JsonNode*> list;
    for (const Bot* bot : bots) {
        std::vector<JsonNode*> tracks;
        for (const auto& t : bot->tracks())
            tracks.push_back(json::object_node({
                {"track_id", json::str(t.track_id)},
                {"participant_id", json::str(t.participant_id)},
                {"kind", json::str(t.kind)},
                {"label", json::str(t.label)},
                {"mid", json::str(t.mid)},
                {"ssrc", json::integer(t.ssrc)},
                {"packets", json::integer(static_cast<int64_t>(t.packets))},
                {"frames", json::integer(static_cast<int64_t>(t.frames))},
                {"frame_rate", json::number(t.frame_rate)},
                {"first_packet_ms", json::integer(t.first_packet_ms)},
                {"first_frame_ms", json::integer(t.first_frame_ms)},
                {"first_frame_after_publish_ms", json::integer(t.first_frame_after_publish_ms)},
                {"packets_lost", json::integer(t.packets_lost)},
                {"packets_received", json::integer(t.packets_received)},
            }));
        std::vector<JsonNode*> errors;
        for (const auto& e : bot->errors())
            errors.push_back(json::str(e));
        std::vector<JsonNode*> events;
        for (const auto& e : bot->events())
            events.push_back(json::object_node({{"ms", json::integer(e.ms)},
                                                {"type", json::str(e.type)},
                                                {"participant_id", json::str(e.participant_id)},
                                                {"track_id", json::str(e.track_id)},
                                                {"label", json::str(e.label)}}));
        list.push_back(json::object_node({
            {"name", json::str(bot->options().name)},
            {"participant_id", json::str(bot->participant_id())},
            {"state", json::str(to_string(bot->state()))},
            {"first_frame_ms", json::integer(bot->first_frame_ms())},
            {"publish_answers", json::integer(bot->publish_answers())},
            {"subscribe_offers", json::integer(bot->subscribe_offers())},
            {"tracks", json::array(tracks)},
            {"events", json::array(events)},
            {"errors", json::array(errors)},
        }));
    }
    JsonNode* root = json::object_node({
        {"duration_ms", json::integer(static_cast<int64_t>(seconds * 1000))},
        {"bots", json::array(list)},
    });
    return json::to_text(root, true) + "\n";
}

}  // namespace zumzi::bot
