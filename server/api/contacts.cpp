// /api/v1/contacts: find who of an address book is registered (in the
// caller's app only), add and remove contacts; /api/v1/blocks: block and
// unblock users (a blocked user cannot send you 1-1 messages).
#include <set>

#include "../chat.h"
#include "context.h"
#include "routes.h"
#include "validate.h"
#include "views.h"

namespace zumzi {

namespace {

const size_t kMaxSyncAddresses = 1000;

JsonOut contact_json(Context& ctx, const User& user)
{
    JsonOut out = user_json(user, false);
    out.set("presence", ctx.chat->presence_json(user.id));
    return out;
}

// The user named by 'user_id' in the body: in the caller's app, not the
// caller.
User other_user(Context& ctx, Request& req, const Principal& me)
{
    const std::string id = req.required_string("user_id");
    if (id == me.user.id)
        fail(400, "BADREQUEST", "'user_id' is yourself");
    auto user = ctx.store.find_user(me.app.id, id);
    if (!user)
        fail(404, "NOTFOUND", "no such user");
    return *user;
}

// Every address of the lists that is valid and registered in the caller's
// app (the caller left out) comes back with its user; invalid ones are
// listed apart; unknown ones are simply absent.
Reply sync_contacts(Context& ctx, Request& req)
{
    Principal me = require_user(ctx, req);
    const auto emails = req.string_list_field("emails").value_or(std::vector<std::string>{});
    const auto phones = req.string_list_field("phones").value_or(std::vector<std::string>{});
    if (!req.has_field("emails") && !req.has_field("phones"))
        fail(400, "BADREQUEST", "give 'emails' and/or 'phones'");
    if (emails.size() + phones.size() > kMaxSyncAddresses)
        fail(400, "BADREQUEST", "at most %zu addresses per request", kMaxSyncAddresses);
    std::vector<JsonOut> matches;
    std::vector<std::string> invalid;
    std::set<std::string> seen;
    auto match = [&](const std::string& given, const std::optional<User>& user) {
        if (!user || user->id == me.user.id || !seen.insert(given).second)
            return;
        JsonOut out;
        out.set("address", given).set("user", user_json(*user, false));
        matches.push_back(std::move(out));
    };
    // Each given address normalised (or listed as invalid) and looked up.
    auto look_up = [&](const std::vector<std::string>& given, std::string (*normalize)(const std::string&),
                       std::optional<User> (Store::*find)(const std::string&, const std::string&)) {
        for (const std::string& g : given) {
            std::string address;
            try {
                address = normalize(g);
            } catch (const ApiError&) {
                invalid.push_back(g);
                continue;
            }
            match(g, (ctx.store.*find)(me.app.id, address));
        }
    };
    look_up(emails, normalize_email, &Store::find_user_by_email);
    look_up(phones, normalize_phone, &Store::find_user_by_phone);
    Reply reply;
    reply.body.set("matches", std::move(matches)).set("invalid", invalid);
    return reply;
}

Reply list_contacts(Context& ctx, Request& req)
{
    Principal me = require_user(ctx, req);
    std::vector<JsonOut> list;
    for (const User& u : ctx.store.list_contacts(me.user.id))
        list.push_back(contact_json(ctx, u));
    Reply reply;
    reply.body.set("contacts", std::move(list));
    return reply;
}

Reply add_contact(Context& ctx, Request& req)
{
    Principal me = require_user(ctx, req);
    const User user = other_user(ctx, req, me);
    const bool added = ctx.store.add_contact(me.user.id, user.id, ctx.clock());
    Reply reply;
    reply.status = added ? 201 : 200;
    reply.body = contact_json(ctx, user);
    return reply;
}

Reply remove_contact(Context& ctx, Request& req)
{
    Principal me = require_user(ctx, req);
    if (!ctx.store.remove_contact(me.user.id, req.param(0)))
        fail(404, "NOTFOUND", "no such contact");
    Reply reply;
    reply.body.set("ok", true);
    return reply;
}

Reply list_blocks(Context& ctx, Request& req)
{
    Principal me = require_user(ctx, req);
    std::vector<JsonOut> list;
    for (const User& u : ctx.store.list_blocked(me.user.id))
        list.push_back(user_json(u, false));
    Reply reply;
    reply.body.set("blocked", std::move(list));
    return reply;
}

Reply block_user(Context& ctx, Request& req)
{
    Principal me = require_user(ctx, req);
    const User user = other_user(ctx, req, me);
    const bool added = ctx.store.block_user(me.user.id, user.id, ctx.clock());
    Reply reply;
    reply.status = added ? 201 : 200;
    reply.body = user_json(user, false);
    return reply;
}

Reply unblock_user(Context& ctx, Request& req)
{
    Principal me = require_user(ctx, req);
    if (!ctx.store.unblock_user(me.user.id, req.param(0)))
        fail(404, "NOTFOUND", "that user is not blocked");
    Reply reply;
    reply.body.set("ok", true);
    return reply;
}

}  // namespace

void add_contacts_routes(Router& router)
{
    router.add("POST", "/api/v1/contacts/sync", sync_contacts);
    router.add("GET", "/api/v1/contacts", list_contacts);
    router.add("POST", "/api/v1/contacts", add_contact);
    router.add("DELETE", "/api/v1/contacts/{user}", remove_contact);
    router.add("GET", "/api/v1/blocks", list_blocks);
    router.add("POST", "/api/v1/blocks", block_user);
    router.add("DELETE", "/api/v1/blocks/{user}", unblock_user);
}

}  // namespace zumzi
