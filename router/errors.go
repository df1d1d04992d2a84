package router

import "errors"

var (
	// ErrUnknownRoute is returned when a route name or value is not one of local, swarm, cloud.
	ErrUnknownRoute = errors.New("unknown route")
	// ErrUnknownPolicy is returned for a policy name that is not in Policies.
	ErrUnknownPolicy = errors.New("unknown policy")
)
