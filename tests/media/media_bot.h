// In-process WebRTC peers for the media engine tests: GStreamer webrtcbin
// "bots" that publish test video (VP8) and audio (Opus) through a publish
// session and decode what the engine sends on their subscribe session.
// Signaling is direct C++ calls on the engine's Participant.
#pragma once

#include <gst/gst.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "room_registry.h"

namespace zumzi::media::test {

// Iterates the default main context until `condition` holds or `timeout_ms`
// passes. Returns the condition's last value.
bool wait_until(const std::function<bool()>& condition, int timeout_ms = 20000);

// Spins the main context for `ms` (lets teardown closures run).
void spin(int ms);

// A registry whose ICE is restricted to 127.0.0.1.
MediaConfig loopback_config();

class Bot : public std::enable_shared_from_this<Bot> {
public:
    static std::shared_ptr<Bot> create(RoomRegistry& registry, const std::string& room,
                                       const std::string& name);
    Bot(RoomRegistry& registry, std::string room, std::string name);
    ~Bot();

    // Adds camera (VP8, msid "camera") and microphone (Opus, msid "mic")
    // and sends the publish offer.
    void publish(bool video = true, bool audio = true);
    // The microphone sends a sine (true, the default) or silence; its RTP
    // packets carry the RFC 6464 audio level either way.
    void set_talking(bool talking);
    // The a=extmap id of the audio level in the publish offer (1 unless
    // set before publish()).
    void set_audio_level_id(int id) { audio_level_id_ = id; }
    // The camera's packets carry transport-wide-cc sequence numbers under
    // this id (0, the default: no header extension on video).
    void set_video_twcc_id(int id) { video_twcc_id_ = id; }
    // Pauses the bot's pipeline: its sessions stop sending anything.
    void freeze();
    // Camera in H.264 constrained baseline (x264) plus microphone.
    void publish_h264();
    // Adds a second video track (msid "screen") and renegotiates.
    void add_screen();
    // Leaves the room through the registry.
    void leave();
    // The registry is going away on its own: never call it again.
    void forget_registry() { left_ = true; }

    // Decoded video frames from the publisher `participant` (every video
    // track of it), and from its track with `label`.
    int video_frames_from(const std::string& participant) const;
    int video_frames_of(const std::string& track_id) const;
    int audio_buffers_from(const std::string& participant) const;
    // RTP packets of `participant`'s audio that reached the subscribe
    // session with an audio level under the id the offer declared for
    // ssrc-audio-level in their m-line (0 if it declared none).
    int audio_levels_from(const std::string& participant) const;
    // Packets of `participant` (audio or video) that carried a header
    // extension under an id the offer declared (in any m-line: one bundle)
    // for a URI whose data it is not: an audio level must be one byte of
    // an audio packet, transport-wide-cc two bytes, anything else absent.
    int foreign_extensions_from(const std::string& participant) const;
    // Number of video tracks that decoded at least `min` frames.
    int video_streams_with(int min) const;

    const std::string& name() const { return name_; }
    std::shared_ptr<Participant> participant() const { return participant_; }
    int publish_answers() const { return publish_answers_; }
    int subscribe_offers() const { return subscribe_offers_; }
    int subscribe_answers_sent() const { return subscribe_answers_sent_; }
    int errors() const { return errors_; }
    const std::string& last_publish_answer() const { return last_publish_answer_; }
    const std::string& last_subscribe_offer() const { return last_offer_; }
    // A client that never answers the subscribe offers (stuck or gone).
    void set_answer_offers(bool answer) { answer_offers_ = answer; }
    // A client that negotiates but never does ICE: no candidate goes either
    // way, so neither session ever connects.
    void set_ice(bool ice) { ice_ = ice; }
    bool ice() const { return ice_; }
    // How often the engine reported a session of ours as never connected
    // (on_connect_timeout), per session.
    int connect_timeouts(Session session) const
    {
        return connect_timeouts_[static_cast<int>(session)];
    }

    // Engine callbacks (main context).
    void on_subscribe_offer(const std::string& sdp);
    void on_engine_candidate(Session session, unsigned mline, const std::string& candidate);

    // Streaming-thread side.
    struct Counter {
        std::string track_id;
        bool video = false;
        std::atomic<int> count{0};
        // Packets whose audio level sat under the declared id, and packets
        // with an extension under an id declared for another URI.
        int level_id = 0;
        std::vector<std::pair<int, std::string>> declared;  // the whole offer's
        std::atomic<int> levels{0};
        std::atomic<int> foreign{0};
    };
    Counter* new_counter(const std::string& track_id, bool video);
    GstElement* pipeline() const { return pipeline_; }
    GstElement* subscribe_webrtcbin() const { return sub_; }
    GstElement* publish_webrtcbin() const { return pub_; }

private:
    void add_source(const std::string& description, const std::string& msid);
    void send_offer();

    RoomRegistry& registry_;
    std::string room_;
    std::string name_;
    std::shared_ptr<Participant> participant_;
    GstElement* pipeline_ = nullptr;
    GstElement* pub_ = nullptr;
    GstElement* sub_ = nullptr;
    std::vector<GstPad*> pub_pads_;
    bool left_ = false;
    bool answer_offers_ = true;
    bool ice_ = true;
    int audio_level_id_ = 1;
    int video_twcc_id_ = 0;
    int connect_timeouts_[2] = {0, 0};
    int publish_answers_ = 0;
    int subscribe_offers_ = 0;
    int subscribe_answers_sent_ = 0;
    int errors_ = 0;
    std::string last_publish_answer_;
    std::string last_offer_;
    mutable std::mutex lock_;
    std::vector<std::unique_ptr<Counter>> counters_;
};

}  // namespace zumzi::media::test
