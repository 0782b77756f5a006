// Room membership rules shared by the REST API and the WebSocket: finding a
// caller's room, their membership, and joining with a PIN. Failures throw
// ApiError with the documented codes.
#pragma once

#include <optional>
#include <string>

#include "api/context.h"

namespace zumzi {

// The room `id` of the caller's app, or NOTFOUND: rooms of other apps do
// not exist for the caller.
Room load_room(Context& ctx, const Principal& me, const std::string& id);

// The caller's membership; the owner always has one.
std::optional<Member> find_membership(Context& ctx, const Room& room, const Principal& me);

// The caller's membership, or NOTMEMBER.
Member require_membership(Context& ctx, const Room& room, const Principal& me);

// The role a PIN gives in `room` ("publisher" for the participant PIN,
// "viewer" for the viewer PIN), compared in constant time; nullopt if neither.
std::optional<std::string> role_for_pin(const Room& room, const std::string& pin);

// 403 REMOVED when a moderator removed `user_id` from `room` and has not let
// them back in.
void require_not_removed(Context& ctx, const Room& room, const std::string& user_id);

// Joins `room` with `pin` (participant PIN: publisher, viewer PIN: viewer).
// Without a PIN only existing members and the owner get in. Wrong PINs are
// rate-limited per user (RATELIMIT), a locked room takes no new members
// (LOCKED), a removed member stays out whatever the PIN (REMOVED), and
// joining again keeps what moderators set: only a viewer who presents the
// participant PIN becomes a publisher.
Member join_room(Context& ctx, const Principal& me, const Room& room,
                 const std::optional<std::string>& pin);

}  // namespace zumzi
