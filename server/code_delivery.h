// How a login code reaches its user. The default writes it to the server log;
// an SMS or e-mail gateway implements the same interface.
#pragma once

#include <string>

namespace zumzi {

class CodeDelivery {
public:
    virtual ~CodeDelivery() = default;
    // `address` is a normalised e-mail address or phone number.
    virtual void deliver(const std::string& app_id, const std::string& address,
                         const std::string& code) = 0;
};

class LogCodeDelivery : public CodeDelivery {
public:
    void deliver(const std::string& app_id, const std::string& address,
                 const std::string& code) override;
};

}  // namespace zumzi
