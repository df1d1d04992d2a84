package node

import (
	"context"
	"time"

	nodeapi "github.com/swarmllm/swarmllm/node/api"
	"github.com/swarmllm/swarmllm/node/config"
	"github.com/swarmllm/swarmllm/router"
)

// activity is what the dashboard shows of this node's queries: the ring the
// pipeline records each answered query into, the cloud budget against the
// operator's limits, and each voter's track record.
type activity struct {
	*nodeapi.QueryLog
	budget *router.Budget
	trust  *router.TrackRecord
	limits nodeapi.BudgetView // the limits only; Usage is filled per view
}

var _ nodeapi.Activity = (*activity)(nil)

func newActivity(cfg config.Config, log *nodeapi.QueryLog, budget *router.Budget, trust *router.TrackRecord) *activity {
	return &activity{QueryLog: log, budget: budget, trust: trust, limits: nodeapi.BudgetView{
		MaxShare:     cfg.CloudMaxShare,
		MaxCallsHour: cfg.CloudMaxCalls.Hour, MaxCallsDay: cfg.CloudMaxCalls.Day,
		MaxTokensHour: cfg.CloudMaxTokens.Hour, MaxTokensDay: cfg.CloudMaxTokens.Day,
	}}
}

// Activity is the dashboard's view now.
func (a *activity) Activity(ctx context.Context) nodeapi.ActivityView {
	now := time.Now()
	v := a.View(now)
	b := a.limits
	b.Usage = a.budget.Usage(now)
	v.Budget = &b
	v.Trust = a.trust.Snapshot()
	return v
}
