package router

import "errors"

var (
	// ErrUnknownRoute is returned when a route name or value is not one of local, swarm, cloud.
	ErrUnknownRoute = errors.New("unknown route")
	// ErrNamedModelPolicy refuses a request naming a peer's model under a policy that asks no peers.
	ErrNamedModelPolicy = errors.New("the policy asks no peers")
	// ErrNamedModelUnserved means no peer serves the model a request names.
	ErrNamedModelUnserved = errors.New("no peer serves the model")
	// ErrUnknownPolicy is returned for a policy name that is not in Policies.
	ErrUnknownPolicy = errors.New("unknown policy")
	// ErrAboveCeiling is returned by UnderCeiling when a request's policy
	// would widen the operator's.
	ErrAboveCeiling = errors.New("policy above the node's ceiling")
	// ErrUnknownPrivacyPolicy is returned for a privacy policy other than redact, block or allow.
	ErrUnknownPrivacyPolicy = errors.New("unknown privacy policy")
	// ErrPrivacyBlocked is returned by Redact when the prompt holds personal
	// data and the privacy policy is block: the prompt must not leave the swarm.
	ErrPrivacyBlocked = errors.New("personal data blocked by privacy policy")
	// ErrOverBudget is returned by Budget.Allow and Reserve when a cloud call would exceed the budget.
	ErrOverBudget = errors.New("cloud budget exceeded")
	// ErrStaleClaim is returned by SwarmBudget.Observe for a claim not newer
	// than the last one heard from its member.
	ErrStaleClaim = errors.New("stale swarm budget claim")
	// ErrTooManyMembers is returned by SwarmBudget.Observe for a new member
	// while the table of members is full.
	ErrTooManyMembers = errors.New("too many swarm budget members")
	// ErrOverQuota is returned by Budget.Admit when an API key has used its queries for the hour.
	ErrOverQuota = errors.New("API key quota exceeded")
	// ErrInvalidConfig is returned by constructors and Validate methods for out-of-range settings.
	ErrInvalidConfig = errors.New("invalid router configuration")
	// ErrUnknownOutcome is returned when a tally outcome name is not recognised.
	ErrUnknownOutcome = errors.New("unknown tally outcome")
	// ErrBadTrackRecord is returned by DecodeTrackRecord for input that is not a saved track record.
	ErrBadTrackRecord = errors.New("not a track record")
)
