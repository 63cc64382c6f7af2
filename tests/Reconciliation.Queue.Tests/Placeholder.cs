namespace Reconciliation.Queue.Tests;
