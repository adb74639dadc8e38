"""Tell-tale lines of bounce notices that do not follow RFC 3464, as data (MTAs and providers).

Patterns are matched case-insensitively; each is anchored or bounded so a scan is linear in the text.
"""

import re

_FLAGS = re.IGNORECASE | re.MULTILINE


def _any(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), _FLAGS)


# Where a notice ends and the returned original message begins.
ORIGINAL_MESSAGE_START = _any(
    r"^[ \t>|]*-{2,}[ \t]*(?:this is a copy|below this line|original message|the original message|"
    r"unsent message|returned message|message text|headers of|copy of|start of returned|forwarded message|"
    r"original mail|the following is|returned mail|rfc822|message headers|undelivered message|"
    r"message header)",
    r"^[ \t>]*(?:message headers follow|original message headers|original message follows|"
    r"the original message (?:was|is) (?:included|attached|below)|"
    r"header of the original message|the header of the original|"
    r"-{3,} ?original message ?-{3,}|"
    r"included is a copy of the|a copy of the original message|below is a copy of the)",
    r"^content-type:[ \t]*(?:message/rfc822|text/rfc822-headers)",
    r"^[ \t>]*original message:?[ \t]*$",
    r"^[ \t>]*original mail as follows:?[ \t]*$",
    r"^[ \t>]*bounced e-?mail:[ \t]*$",
    r"^[ \t>]*-{5,}[ \t]*$\n(?=(?:return-path|received|from|message-id|date|subject|to):)",
    r"^[ \t>]*\n[ \t>]*(?:return-path|received):",
)

# Who sends bounce notices (matched against From only: a "bounces@" Return-Path is every list's).
BOUNCE_SENDER = _any(
    r"mailer[- ]?daemon",
    r"(?<![\w.+-])post_?master@",
    r"mail delivery (?:subsystem|system|service)",
    r"\bmail ?(?:delivery|administrator|system)\b",
    r"\bmdaemon\b",
    r"(?<![\w.+-])mailmaster@",
    r"(?<![\w.+-])daemon@",
    r"(?<![\w.+-])post_office@",
    r"(?<![\w.+-])mail-?router@",
)

# Subjects of bounce notices (any language a large provider uses).
BOUNCE_SUBJECT = _any(
    r"undeliver",
    r"undelivered",
    r"returned mail",
    r"return(?:ed)? to sender",
    r"delivery (?:status notification|notification|failure|failed|has failed|problem|report)",
    r"failure notice",
    r"mail delivery failed",
    r"non[- ]?deliver",
    r"could not (?:be )?deliver",
    r"not (?:been )?delivered",
    r"message (?:not delivered|delivery failed|rejected)",
    r"failed (?:delivery|mail)",
    r"nondeliverable",
    r"unzustellbar",
    r"non remis",
    r"mail system error",
    r"delivery failure",
    r"rejected:",
    r"bounced? (?:mail|message|notification)",
    r"error sending message",
    r"unable to deliver",
    r"warning: could not send",
    r"returned (?:message|email)",
    r"notice of delivery",
    r"delivery to the following",
    r"sender address rejected",
    r"message you sent",
    r"permanent error",
)

# Notices that report a delay only (the message is still queued).
DELAY_SUBJECT = _any(
    r"delayed mail",
    r"delivery (?:is )?delayed",
    r"\(delay\)",
    r"warning: (?:could not send message|message .{0,40} delayed) for (?:past|more than)",
    r"warning: message \S{1,80} delayed",
    r"warning\W{1,3}could not send (?:message|mail) for (?:the )?past",
    r"still being retried",
    r"delivery status notification \(delay\)",
    r"message delayed",
    r"delivery delay",
)

# Body lines that say a notice is only a delay warning.
DELAY_NOTICE = _any(
    r"this is a warning message only",
    r"will (?:continue|keep) (?:trying|retrying|to try)",
    r"(?:is|has been) delayed",
    r"i will retry",
    r"no action is required on your part",
    r"delivery (?:attempts will continue|is delayed)",
)

# Body phrases that say a failure is final, which a delay warning never says.
FINAL_NOTICE = _any(
    r"permanent(?:ly)? (?:error|fatal|failure|failed)",
    r"(?:have|has|i've) given up",
    r"giving up",
    r"will not (?:be )?(?:retried|try again)",
    r"not going to try again",
    r"could not be delivered",
    r"delivery (?:to the following recipients? )?(?:has )?failed",
)

# Subjects of out-of-office and other automatic replies.
AUTO_REPLY_SUBJECT = _any(
    r"out of (?:the )?office",
    r"auto(?:matic)?[- ]?(?:reply|response|antwort|risposta|respuesta)",
    r"^auto:",
    r"autoreply",
    r"vacation",
    r"abwesenheit",
    r"réponse automatique",
    r"away from (?:the )?office",
    r"on (?:annual )?leave",
    r"not in the office",
    r"respuesta automática",
    r"automatische antwort",
    r"automatisch antwoord",
    r"risposta automatica",
    r"resposta automática",
    r"fuera de la oficina",
    r"hors du bureau",
    r"\bafwezig",
    r"frånvaro",
    r"autosvar",
    r"poza biurem",
    r"自動応答",
    r"自动回复",
    r"自動回覆",
)

# Read receipts (RFC 8098 message disposition notifications) written as plain mail.
RECEIPT_SUBJECT = _any(
    r"^\s*(?:read|gelesen|lu|leído|letto|lido|gelezen|läst|luettu|przeczytana|прочитано)\s*:",
    r"(?:read|return|disposition|delivery) receipt",
    r"read notification",
    r"disposition notification",
    r"lesebestätigung",
    r"accusé de lecture",
)

# Challenge-response systems asking the sender to prove they are a person: the message waits, it has
# not bounced.
CHALLENGE_SUBJECT = _any(
    r"please (?:confirm|verify) (?:that )?(?:your )?(?:e-?mail|message|address|identity|you are)",
    r"(?:verify|confirm) your (?:e-?mail|message|sender)",
    r"(?:sender|e-?mail) (?:address )?verification",
    r"awaiting (?:your )?(?:verification|confirmation)",
    r"\bspam ?arrest\b",
    r"\bboxbe\b",
    r"challenge[- ]response",
    r"(?:is|was) (?:being )?held (?:pending|for) (?:your )?(?:verification|confirmation)",
)

# Complaints that come without a feedback-report part: Microsoft's JMRP, List-Unsubscribe mail requests.
COMPLAINT_SUBJECT = _any(
    r"^\s*complaint about message from",
    r"^\s*(?:abuse|spam) report\b",
)
UNSUBSCRIBE_SUBJECT = _any(r"^\s*unsubscribe\s*$")

# Headers a mailing-list server (fml) stamps on its own notices, and the subjects of the notices in
# which it refuses a post: the poster is not a member, or the post loops (duplicated Message-ID).
LIST_SERVER_HEADERS = ("x-mlserver",)
LIST_REFUSAL_SUBJECT = _any(
    r"\bare not (?:a )?member\b",
    r"^\s*loop alert:",
)

# Body phrases that say a notice is a bounce, when neither sender nor subject does.
BOUNCE_BODY = _any(
    r"could not be delivered",
    r"couldn't be delivered",
    r"was not delivered",
    r"wasn't delivered",
    r"delivery (?:to the following|has failed|failed|failure)",
    r"undeliverable",
    r"permanent(?:ly)? (?:error|fatal|failure|failed)",
    r"unable to deliver",
    r"i'm afraid i wasn't able to deliver",
    r"following address(?:es)? (?:failed|had permanent)",
    r"returned to (?:the )?sender",
    r"message (?:could not|cannot) be (?:delivered|sent)",
    r"(?:user|mailbox|recipient) (?:unknown|not found)",
    r"transcript of session follows",
    r"delivery status notification",
    r"smtp error",
    r"remote host said",
    r"rejected (?:your message|by the server)",
    r"mail delivery failed",
    r"an error (?:has )?occurred while (?:trying|attempting) to deliver",
)

# Where a notice names a failed recipient; group 1 is the address.
# Address pieces are bounded and the local part excludes "@", so scanning stays linear on any input.
_LOCAL = r"[^\s<>\"'(),;:\[\]@]{1,64}"
_DOMAIN = r"[a-z0-9][a-z0-9.\-]{0,252}\.[a-z]{2,63}"
_ADDR = rf"[\"']?<?({_LOCAL}@{_DOMAIN})>?[\"']?"
RECIPIENT_LINE = _any(
    rf"^[ \t]*{_ADDR}[ \t]*:?[ \t]*$",
    r"^[ \t]*<([^\s<>@]{1,64}@[^\s<>@]{1,255})>[ \t]*:",
    r"<([^\s<>@]{1,64}@[^\s<>@]{1,255})>\.\.\.",
    rf"^[ \t]*(?:final[- ]|original[- ])?(?:recipient|to|rcpt to|rcpt|failed recipient|address|adresse|"
    rf"destinataire|empfänger|e-?mail(?: address)?|addressee|user|mailbox|invalid recipient|"
    rf"unknown recipient|failed address|unknown user|invalid address|bad address|recipient address|"
    rf"undeliverable address|"
    rf"destination(?: address)?|envelope-to|delivery to)"
    rf"(?:\(s\))?[ \t]*:[ \t]*(?:rfc822;[ \t]*)?{_ADDR}",
    rf"^[ \t]*{_ADDR}<mailto:",
    rf"rcpt to:[ \t]*{_ADDR}",
    rf"(?:delivery|deliver your (?:message|mail)|sending) to (?:the following (?:recipients?|address(?:es)?)"
    rf":?[ \t]*)?{_ADDR}",
    rf"^[ \t]*{_ADDR}[ \t]+(?:\(|[-:]|on |was |is |user|mailbox|recipient|unknown|invalid|<|\.\.\.)",
    rf"^[ \t]*{_ADDR}:[ \t]+[45]\d\d\b",
)

# Any address at all, for notices that only mention the recipient in running text.
ANY_ADDRESS = re.compile(rf"[^\s<>\"'(),;:\[\]=/@]{{1,64}}@{_DOMAIN}", re.IGNORECASE)

# Remote hosts named in notices: "host mx.example.net [192.0.2.1]" or "remote host 192.0.2.1 said".
REMOTE_HOST = _any(
    r"(?:host|server|mx)[ \t]+([a-z0-9][a-z0-9.\-]{0,252}\.[a-z]{2,63})[ \t]*\[",
    r"remote (?:host|server|mta)[ \t]+\[?([a-z0-9][a-z0-9.\-]{0,252})\]?[ \t]+said",
    r"generating server:[ \t]*([a-z0-9][a-z0-9.\-]{0,252})",
)

# Addresses that are never the failed recipient of a bounce.
NOT_A_RECIPIENT = re.compile(r"^(?:mailer-daemon|postmaster|bounces?|nobody|noreply|no-reply|root)@", re.I)
