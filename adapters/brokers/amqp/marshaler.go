package amqp

import (
	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	amqp091 "github.com/rabbitmq/amqp091-go"
)

// bodyMarshaler reads a message's body only: its headers are ignored
// whatever their type (watermill-amqp's default refuses, forever, a
// message with a header that is not a string). A reject is written
// with its metadata, reason_poisoned among it, as string headers.
type bodyMarshaler struct{}

func (bodyMarshaler) Unmarshal(d amqp091.Delivery) (*message.Message, error) {
	return message.NewMessage(watermill.NewUUID(), d.Body), nil
}

func (bodyMarshaler) Marshal(msg *message.Message) (amqp091.Publishing, error) {
	headers := make(amqp091.Table, len(msg.Metadata))
	for k, v := range msg.Metadata {
		headers[k] = v
	}
	return amqp091.Publishing{
		Headers:      headers,
		ContentType:  "application/json",
		DeliveryMode: amqp091.Persistent,
		MessageId:    msg.UUID,
		Body:         msg.Payload,
	}, nil
}
