package v1alpha1

// Condition types of a LotouCluster. Every condition carries the
// observedGeneration it was computed for.
const (
	// ConditionReady is True when the master and all slaves are ready and the
	// master reports every node as registered.
	ConditionReady = "Ready"
	// ConditionProgressing is True while the operator is moving the cluster
	// towards its spec: creating, scaling or rolling out a new image.
	ConditionProgressing = "Progressing"
	// ConditionDegraded is True when the cluster has settled but some pods
	// are not ready, or when reconciling failed.
	ConditionDegraded = "Degraded"
	// ConditionMasterReady is True when the master pod is up to date and ready.
	ConditionMasterReady = "MasterReady"
	// ConditionSlavesReady is True when every slave pod is up to date and ready.
	ConditionSlavesReady = "SlavesReady"
	// ConditionTokenMissing is True when the token Secret was deleted or
	// emptied after the cluster had a token. The operator then changes no
	// pod until the user asks for a new token with the annotation
	// AnnotationRegenerateToken: running pods keep the old token.
	ConditionTokenMissing = "TokenMissing"
	// ConditionNameConflict is True when an object the cluster needs
	// (Service, StatefulSet, Secret, PodDisruptionBudget) exists under its
	// name but is not controlled by this LotouCluster. The operator refuses
	// to take it over.
	ConditionNameConflict = "NameConflict"
)

// AnnotationRegenerateToken is the LotouCluster annotation that asks for a
// new cluster token: set to "true" while the TokenMissing condition is
// True, it makes the operator generate a new
// cluster token and restart every pod on it. The operator removes the
// annotation once the new token exists.
const AnnotationRegenerateToken = "lotou.io/regenerate-token" //nolint:gosec // G101: an annotation key, not a credential

// Condition reasons of a LotouCluster. They are CamelCase words a user can
// grep for and alert on.
const (
	// ReasonReady says the subject of the condition is ready.
	ReasonReady = "Ready"
	// ReasonNotFound says the StatefulSet of a role does not exist yet.
	ReasonNotFound = "NotFound"
	// ReasonRollingOut says a StatefulSet has not yet rolled out its spec.
	ReasonRollingOut = "RollingOut"
	// ReasonPodsNotReady says a StatefulSet rolled out but some pods are not ready.
	ReasonPodsNotReady = "PodsNotReady"
	// ReasonMasterNotReady says the master is not ready.
	ReasonMasterNotReady = "MasterNotReady"
	// ReasonSlavesNotReady says some slaves are not ready.
	ReasonSlavesNotReady = "SlavesNotReady"
	// ReasonMembershipUnavailable says the master's /cluster endpoint could
	// not be read, so membership is unknown.
	ReasonMembershipUnavailable = "MembershipUnavailable"
	// ReasonNodesNotRegistered says the master does not see every node as up.
	ReasonNodesNotRegistered = "NodesNotRegistered"
	// ReasonCreating says the cluster's objects are being created.
	ReasonCreating = "Creating"
	// ReasonScaling says the number of slaves is changing.
	ReasonScaling = "Scaling"
	// ReasonUpdatingSlaves says the slaves are rolling out a new spec.
	ReasonUpdatingSlaves = "UpdatingSlaves"
	// ReasonUpdatingMaster says the master is rolling out a new spec.
	ReasonUpdatingMaster = "UpdatingMaster"
	// ReasonWaitingForSlaves says a new master pod template (image, config,
	// env, resources, ...) waits until the slaves run theirs and are ready.
	ReasonWaitingForSlaves = "WaitingForSlaves"
	// ReasonReconciled says the cluster matches its spec.
	ReasonReconciled = "Reconciled"
	// ReasonPaused says spec.paused is set and nothing is changed.
	ReasonPaused = "Paused"
	// ReasonReconcileFailed says the last reconcile failed; the message has the error.
	ReasonReconcileFailed = "ReconcileFailed"
	// ReasonAsExpected says nothing is degraded.
	ReasonAsExpected = "AsExpected"
	// ReasonRolloutStalled says a rollout did not finish within the progress
	// deadline; the message carries what the pods report.
	ReasonRolloutStalled = "RolloutStalled"
	// ReasonTokenMissing says the token Secret is gone or empty.
	ReasonTokenMissing = "TokenMissing"
	// ReasonTokenPresent says the token Secret holds a token.
	ReasonTokenPresent = "TokenPresent"
	// ReasonNameConflict says an object under one of the cluster's names is
	// not controlled by the cluster.
	ReasonNameConflict = "NameConflict"
	// ReasonNoConflict says every object of the cluster is its own.
	ReasonNoConflict = "NoConflict"
)
